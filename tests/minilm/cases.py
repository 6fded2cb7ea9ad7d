"""The sentences the MiniLM tests embed: short and long (near the 256-token limit), prose,
code, accents and other scripts, numbers."""

LONG = (
    "The history of the Roman Empire spans centuries of conquest, administration, law and "
    "culture, from the founding legends of the city to the fall of Constantinople. "
) * 8  # 242 tokens
SENTENCES = [
    "Hi!",
    "A man is playing a guitar on the street corner while people walk by.",
    "def fibonacci(n: int) -> int:\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "Café crème, naïve façade — Zürich, São Paulo, Ελληνικά, русский, 日本語のテキスト 🚀✨",
    "In 2023 the GDP grew by 3.14 %, i.e. $1,234,567.89 over 42 quarters (±0.5e-3).",
    LONG,
]
