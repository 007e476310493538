"""``pychain demo``: a dev chain running a federated-learning task end to end (DESIGN.md §6).

Counterpart: none in Substrate (its nearest relative is ``substrate --dev`` plus a script); the
run itself — node, contributors, monitor, report — is :mod:`ml_engine.demo`, the orchestration
layer of ``ml_engine`` (DESIGN.md §1: orchestration may use both packages; the chain's own
modules, ``pychain.commands`` included, never import ``ml_engine``, which is why this command
module lives here and is listed in ``cli.py``). This module only parses the flags. It imports
:mod:`ml_engine.demo` when the command runs, so that ``pychain --help`` and the other commands
do not load torch.

Exit codes: 0 on success, 2 on bad options (one line ``error: …``), 1 when the run fails —
including when the validators of ``--validators N`` disagree on a round's state — or is
interrupted (Ctrl-C / SIGTERM; every node and contributor process is stopped first).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pychain.commands import fail
from pychain.errors import PychainError


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run a federated-learning task on a local dev chain and report",
        description="Start a dev node (or, with --validators N, N validator processes), create "
        "a federated-learning task, run one process per contributor over JSON-RPC, show a live "
        "status and write report.json, rounds.csv and accuracy.png (docs/report-format.md).",
    )
    p.add_argument("--contributors", type=int, default=None, metavar="N", help="default 10")
    p.add_argument("--rounds", type=int, default=None, metavar="R", help="default 20")
    p.add_argument("--dataset", default="digits", help="digits | mnist5k")
    p.add_argument("--model", default="logreg", help="logreg | mlp | cnn")
    p.add_argument("--partition", default="dirichlet:0.5", help="iid | dirichlet:A | shards:K")
    p.add_argument(
        "--rule",
        default="mean",
        help="mean | median | trimmed_mean:B | krum:F | multi_krum:F,M | clipped_mean:C",
    )
    p.add_argument("--weighting", default="stake", help="stake | samples | stake_samples")
    p.add_argument("--attack", default=None, metavar="NAME[:PARAM]", help="e.g. sign_flip:4")
    p.add_argument(
        "--attackers",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="stake fraction held by attackers (largest stakes first; 0.3 with --attack)",
    )
    p.add_argument("--commit-reveal", action="store_true", help="commit then reveal updates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="demo-out", metavar="DIR", help="output folder")
    p.add_argument(
        "--quick", action="store_true", help="3 contributors and 3 rounds unless given (smoke run)"
    )
    p.add_argument("--baseline", action="store_true", help="also run float FedAvg in process")
    p.add_argument(
        "--validators",
        type=int,
        default=1,
        metavar="N",
        help="1: an in-process dev node, paced by the round gate (reproducible); N > 1: N "
        "validator processes (Aura, GRANDPA), each re-computing every aggregate",
    )
    p.add_argument(
        "--round-length",
        type=int,
        default=None,
        metavar="BLOCKS",
        help="default 3 with one validator (4 with --commit-reveal); with N validators "
        "N + 3 + contributors // 5 (twice that with --commit-reveal)",
    )
    p.add_argument(
        "--slot-duration",
        type=int,
        default=None,
        metavar="MS",
        help="default 200 with one validator, 1000 with several",
    )
    p.add_argument("--epochs", type=int, default=None, help="local epochs per round")
    p.add_argument("--lr", type=float, default=None, help="local learning rate")
    p.add_argument("--momentum", type=float, default=None, help="local SGD momentum")
    p.add_argument("--clip-norm", type=float, default=None, help="client-side L2 clip of deltas")
    p.add_argument("--outlier-threshold", type=float, default=None, metavar="FRACTION")
    p.add_argument("--max-strikes", type=int, default=None)
    p.add_argument("--slash-fraction", type=float, default=None, metavar="FRACTION")
    p.add_argument("--round-timeout", type=float, default=None, metavar="S")
    p.add_argument("--no-live", action="store_true", help="plain progress lines, no live panel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ml_engine.demo import DemoConfig, DemoError, run_demo
    from ml_engine.errors import MlEngineError

    overrides = {
        name: getattr(args, name)
        for name in (
            "outlier_threshold",
            "max_strikes",
            "slash_fraction",
            "round_timeout",
        )
        if getattr(args, name) is not None
    }
    try:
        config = DemoConfig.from_options(
            contributors=args.contributors,
            rounds=args.rounds,
            dataset=args.dataset,
            model=args.model,
            partition=args.partition,
            rule=args.rule,
            weighting=args.weighting,
            attack=args.attack,
            attackers=args.attackers,
            commit_reveal=args.commit_reveal,
            seed=args.seed,
            out=args.out,
            quick=args.quick,
            baseline=args.baseline,
            validators=args.validators,
            round_length=args.round_length,
            slot_duration=args.slot_duration,
            epochs=args.epochs,
            lr=args.lr,
            momentum=args.momentum,
            clip_norm=args.clip_norm,
            live=False if args.no_live else None,
            **overrides,
        ).resolved()
    except (MlEngineError, PychainError) as exc:
        return fail(str(exc))
    try:
        run_demo(config)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    except (DemoError, MlEngineError, PychainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
