"""``pychain inspect justification HEX_OR_FILE …``: verify a GRANDPA justification or commit.

The counterpart of what a Substrate node does with the ``FRNK`` justification of an imported block
(``sc_consensus_grandpa::GrandpaJustification::decode_and_verify_finalizes``) or with a gossip
commit message (``check_compact_commit`` then ``validate_commit``), for one authority set.

Input: ``HEX_OR_FILE`` is 0x-prefixed hex, or a file holding 0x-prefixed hex text or raw bytes. The
authority set (``--authorities``) is a JSON list of ``[public_key_hex, weight]`` pairs, inline or
in a file (a file may also hold an object with that list under ``authorities`` or
``authority_set.authorities``, as the vectors do), or the 0x-hex SCALE of ``AuthorityList``
(``Vec<([u8; 32], u64)>``). ``--commit-message`` reads the gossip form
``round ++ set_id ++ CompactCommit``; without it the justification form is tried first, then the
commit message form.

Output: one JSON object with ``valid``, ``reason`` and ``detail`` (when invalid), ``kind``,
``target`` ``{hash, number}``, ``round``, ``set_id``, ``signers`` (distinct signer ids, hex),
``signed_weight`` (weight of the distinct known signers), ``threshold`` and ``total_weight``.
Exit code 0 when valid, 1 when the data decode but do not verify, 2 on bad input (one line).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from consensus.grandpa.errors import GrandpaError, JustificationError, Malformed
from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import Commit, FullCommitMessage
from consensus.grandpa.verify import (
    ExpectedTarget,
    verify_commit_message,
    verify_justification,
)
from consensus.grandpa.voter_set import VoterSet
from pychain.commands import CommandError, fail
from pychain.primitives.consensus_logs import AuthorityList
from pychain.primitives.scale import ScaleDecodeError

#: Exit code when the input decodes but does not verify.
EXIT_INVALID = 1
_U64_MAX = (1 << 64) - 1


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "justification",
        help="verify a GRANDPA justification (or gossip commit message) against an authority set",
    )
    parser.add_argument("data", metavar="HEX_OR_FILE", help="0x-hex, or a file of hex or raw bytes")
    parser.add_argument(
        "--set-id",
        type=_u64,
        help="authority set id (required for a justification; checked against a commit message)",
    )
    parser.add_argument(
        "--authorities",
        required=True,
        metavar="FILE_OR_JSON",
        help="[[public_key_hex, weight], ...] inline or in a file, or 0x-hex SCALE AuthorityList",
    )
    parser.add_argument("--block-hash", help="the block the justification must finalize (hex)")
    parser.add_argument(
        "--block-number", type=_u32, help="with --block-hash: the number of that block"
    )
    parser.add_argument(
        "--commit-message",
        action="store_true",
        help="the data are a gossip commit message (round, set_id, compact commit)",
    )
    parser.set_defaults(func=run)


def _u64(text: str) -> int:
    return _bounded_int(text, _U64_MAX, "u64")


def _u32(text: str) -> int:
    return _bounded_int(text, 0xFFFF_FFFF, "u32")


def _bounded_int(text: str, limit: int, what: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= limit:
        raise argparse.ArgumentTypeError(f"not a {what}: {text}")
    return value


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _parse_hex(text: str, what: str, size: int | None = None) -> bytes:
    body = "".join(text.split())
    if body[:2].lower() == "0x":
        body = body[2:]
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise CommandError(f"{what} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise CommandError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def read_data(argument: str) -> bytes:
    """The bytes named by HEX_OR_FILE: inline 0x-hex, or a file of hex text or raw bytes."""
    if argument[:2].lower() == "0x":
        return _parse_hex(argument, "HEX_OR_FILE")
    path = Path(argument)
    if not path.is_file():
        raise CommandError(f"{argument!r} is neither 0x-hex nor a readable file")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {argument}: {exc.strerror}") from None
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        return content
    if text[:2].lower() == "0x":
        return _parse_hex(text, argument)
    return content


def read_authorities(argument: str) -> VoterSet:
    """The voter set named by ``--authorities`` (inline JSON / SCALE hex, or a file of either)."""
    text = argument.strip()
    if not text.startswith(("[", "{", "0x", "0X")):
        path = Path(argument)
        if not path.is_file():
            raise CommandError(f"--authorities {argument!r} is neither JSON, 0x-hex nor a file")
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read --authorities file {argument}: {exc}") from None
    if text[:2].lower() == "0x":
        raw = _parse_hex(text, "--authorities")
        try:
            pairs = [(bytes(key), weight) for key, weight in AuthorityList.decode(raw)]
        except ScaleDecodeError as exc:
            raise CommandError(f"--authorities is not a SCALE AuthorityList: {exc}") from None
    else:
        pairs = _authorities_from_json(text)
    try:
        return VoterSet(pairs)
    except GrandpaError as exc:
        raise CommandError(f"--authorities: {exc}") from None


def _authorities_from_json(text: str) -> list[tuple[bytes, int]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--authorities is not valid JSON: {exc.msg}") from None
    if isinstance(value, dict):
        value = value.get("authority_set", value)
        value = value.get("authorities") if isinstance(value, dict) else None
    if not isinstance(value, list):
        raise CommandError("--authorities must be a list of [public_key_hex, weight] pairs")
    pairs = []
    for position, entry in enumerate(value):
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not isinstance(entry[0], str)
            or isinstance(entry[1], bool)
            or not isinstance(entry[1], int)
        ):
            raise CommandError(f"--authorities entry {position} is not [public_key_hex, weight]")
        pairs.append((_parse_hex(entry[0], f"--authorities entry {position}", 32), entry[1]))
    return pairs


def _decode(raw: bytes, commit_message: bool) -> GrandpaJustification | FullCommitMessage:
    if commit_message:
        return FullCommitMessage.from_bytes(raw)
    try:
        return GrandpaJustification.from_bytes(raw)
    except Malformed as as_justification:
        try:
            return FullCommitMessage.from_bytes(raw)
        except Malformed:
            raise as_justification from None


def run(args: argparse.Namespace) -> int:
    try:
        raw = read_data(args.data)
        voters = read_authorities(args.authorities)
        expected: ExpectedTarget | None = None
        if args.block_hash is not None:
            expected = (_parse_hex(args.block_hash, "--block-hash", 32), args.block_number)
        elif args.block_number is not None:
            raise CommandError("--block-number needs --block-hash")
        try:
            decoded = _decode(raw, args.commit_message)
        except Malformed as exc:
            raise CommandError(str(exc)) from None
        if isinstance(decoded, GrandpaJustification) and args.set_id is None:
            raise CommandError("--set-id is required to verify a justification")
    except CommandError as exc:
        return fail(str(exc))
    report = describe(decoded, voters, args.set_id, expected)
    print(json.dumps(report, indent=2))
    return 0 if report["valid"] else EXIT_INVALID


def describe(
    decoded: GrandpaJustification | FullCommitMessage,
    voters: VoterSet,
    set_id: int | None,
    expected: ExpectedTarget | None,
) -> dict[str, Any]:
    """Verify ``decoded`` and return the JSON object the command prints."""
    if isinstance(decoded, GrandpaJustification):
        kind, round_number, commit_set_id = "justification", decoded.round, set_id
        signer_ids = [signed.id for signed in decoded.commit.precommits]
        commit: Commit | None = decoded.commit
        target = decoded.target
        ancestries = len(decoded.votes_ancestries)
    else:
        kind, round_number, commit_set_id = "commit_message", decoded.round, decoded.set_id
        signer_ids = [voter for _, voter in decoded.message.auth_data]
        commit = None
        target = (decoded.message.target_hash, decoded.message.target_number)
        ancestries = 0
    distinct = list(dict.fromkeys(signer_ids))
    out: dict[str, Any] = {
        "kind": kind,
        "valid": True,
        "target": {"hash": _hex(target[0]), "number": target[1]},
        "round": round_number,
        "set_id": commit_set_id,
        "precommits": len(commit.precommits) if commit is not None else len(signer_ids),
        "votes_ancestries": ancestries,
        "signers": [_hex(voter) for voter in distinct],
        "signed_weight": voters.weight_of(distinct),
        "threshold": voters.threshold,
        "total_weight": voters.total_weight,
    }
    try:
        if isinstance(decoded, GrandpaJustification):
            assert set_id is not None  # checked by run()
            result = verify_justification(decoded, set_id, voters, expected)
        else:
            result = verify_commit_message(decoded, voters, set_id, expected)
    except JustificationError as exc:
        out["valid"] = False
        out["reason"] = exc.reason
        out["detail"] = str(exc)
        return out
    out["signers"] = [_hex(voter) for voter in result.signers]
    out["signed_weight"] = result.signed_weight
    if result.equivocators:
        out["equivocators"] = [_hex(voter) for voter in result.equivocators]
    return out
