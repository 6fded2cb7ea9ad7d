"""SmolLM2-135M-Instruct text generation on J1 (see programs/smollm2/generate.py):
`generate("def fibonacci(n):", max_new_tokens=32)` returns the token ids, text and report.
"""

from programs.smollm2.generate import Generation, SmolLM2, generate

__all__ = ["Generation", "SmolLM2", "generate"]
