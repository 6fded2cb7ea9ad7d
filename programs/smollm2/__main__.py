"""`python -m programs.smollm2`: SmolLM2-135M-Instruct generating text on the simulated J1.

Streams the tokens as the chip produces them, shows the prefill's progress, and ends with
the J1 report (tokens/s at the J1 clock, tokens/J, TFLOP/s per W, DRAM bytes per token,
engine utilisation, host wall time).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from programs.smollm2.generate import SmolLM2

DEFAULT_PROMPT = "def fibonacci(n):"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m programs.smollm2",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="text to continue")
    parser.add_argument("--chat", action="store_true",
                        help="wrap the prompt in the model's chat template")  # fmt: skip
    parser.add_argument("--max-tokens", type=int, default=48, help="new tokens at most")
    parser.add_argument("--temperature", type=float, default=0.0, help="0: greedy (on chip)")
    parser.add_argument("--top-k", type=int, default=0, help="sample from the k best only")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--machine", default="j1")
    parser.add_argument("--trace-json", type=Path, metavar="PATH",
                        help="write the engine timelines (Chrome/Perfetto JSON)")  # fmt: skip
    parser.add_argument("--json", action="store_true",
                        help="print the result and report as JSON instead of text")  # fmt: skip
    args = parser.parse_args(argv)
    if args.max_tokens < 1:
        parser.error("--max-tokens must be at least 1")
    if not args.prompt:
        parser.error("--prompt must not be empty")
    return args


class Streamer:
    """Prints generated text as it arrives, whole characters only."""

    def __init__(self, tokenizer, quiet: bool, header: str) -> None:
        self.tokenizer, self.quiet, self.header = tokenizer, quiet, header
        self.ids: list[int] = []
        self.shown = ""

    def prefill(self, done: int, total: int) -> None:
        if self.quiet:
            return
        print(f"\r[prefill on J1: layer {done}/{total}]", end="", file=sys.stderr, flush=True)
        if done == total:  # the prompt, then the tokens as they come
            print(file=sys.stderr, flush=True)
            print(self.header, end="", flush=True)

    def token(self, token_id: int) -> None:
        self.ids.append(token_id)
        text = self.tokenizer.decode(self.ids, skip_special=True)
        if text.endswith("\ufffd"):  # a character cut between tokens: wait for the rest
            return
        if not self.quiet:
            print(text[len(self.shown) :], end="", flush=True)
        self.shown = text


def main(argv: list[str] | None = None, runner: SmolLM2 | None = None) -> int:
    """Run the generation; 0 on success, 1 on a bad request. `runner`: a loaded model to
    use instead of opening the file again (tests)."""
    args = parse(argv)
    runner = runner or SmolLM2(machine=args.machine)
    header = f"[chat] {args.prompt}\n" if args.chat else args.prompt
    streamer = Streamer(runner.tokenizer, quiet=args.json, header=header)
    try:
        result = runner.generate(args.prompt, max_new_tokens=args.max_tokens, chat=args.chat,
                                 temperature=args.temperature, top_k=args.top_k,
                                 seed=args.seed, on_token=streamer.token,
                                 on_prefill=streamer.prefill,
                                 record_events=args.trace_json is not None)  # fmt: skip
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.trace_json is not None:
        args.trace_json.write_text(runner.chip.sim.chrome_trace())
    if args.json:
        out = {"prompt": args.prompt, "chat": args.chat, "prompt_ids": result.prompt_ids,
               "token_ids": result.token_ids, "text": result.text,
               "report": result.report.as_dict()}  # fmt: skip
        print(json.dumps(out, indent=2))
    else:
        print("\n")
        print(result.report.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
