"""Run every benchmark and print a Markdown report: `uv run python -m bench [--seconds N]`.

`--suite platform|auth|waitlist|booking|slots|realtime|checkin|pages` runs one (default: all of them).

Platform baseline (issue 2): `/health/ready` and a tenant-scoped read through
our full stack vs a bare Starlette endpoint doing the same query, on the same
database in the same run. Rounds alternate between the two so that machine
noise hits both alike; the median round of each is reported with the ratio.
Booking (`bench/booking.py`) and slot search (`bench/slots.py`), issue 12, each
on a database of their own; the authenticated read is in the identity suite
(`auth`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from pathlib import Path

import psycopg

from bench import booking, checkin, pages, realtime, slots
from bench.loadgen import Result, median_result, run
from bench.processes import prepare_database, start_server
from clinicflow.platform.db.url import libpq_url

BENCH_DB = "clinicflow_bench"
SUITES = ("all", "platform", "auth", "waitlist", "booking", "slots", "realtime", "checkin", "pages")


def _seed(url: str, *, tenants: int, clinics_per_tenant: int) -> uuid.UUID:
    """Many tenants so the tenant filter matters; returns the tenant the reads target."""
    from clinicflow.platform.ids import uuid7

    target = uuid7()
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        for t in range(tenants):
            tid = target if t == 0 else uuid7()
            cur.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, %s, %s)", (tid, f"T{t}", f"t{t}"))
            cur.executemany(
                "INSERT INTO clinics (id, tenant_id, name, slug, timezone, city) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (uuid7(), tid, f"Clinic {c}", f"c{c}", "Europe/Berlin", "Berlin")
                    for c in range(clinics_per_tenant)
                ],
            )
        conn.commit()
    return target


def _compare(
    url: str, paths: dict[str, str], *, rounds: int, seconds: float, concurrency: int
) -> dict[str, dict[str, list[Result]]]:
    servers = {kind: start_server(kind, url) for kind in ("ours", "bare")}
    results: dict[str, dict[str, list[Result]]] = {name: {"ours": [], "bare": []} for name in paths}
    try:
        for name, path in paths.items():
            for _, port in servers.values():  # warm-up
                asyncio.run(run("127.0.0.1", port, path, concurrency=concurrency, seconds=1.0))
            for _ in range(rounds):
                for kind, (_, port) in servers.items():
                    results[name][kind].append(
                        asyncio.run(run("127.0.0.1", port, path, concurrency=concurrency, seconds=seconds))
                    )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    return results


def _waitlist_report(url: str) -> list[str]:
    """Issue 5: join and promote throughput, and vacancy-to-invitation latency, at 100k queued."""
    from bench import auth, waitlist

    started = time.perf_counter()
    world = waitlist.seed(url)
    seeded = time.perf_counter() - started
    auth.environment_for_servers()
    proc, port = start_server("ours", url)
    try:
        rates = asyncio.run(waitlist.throughput(port, world))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    waitlist.drop_pending_jobs(url)
    proc, port = start_server("ours-worker", url)
    try:
        latency = asyncio.run(waitlist.vacancy_to_invitation(port, url, world))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    verdict = "met" if latency["p95"] < 1000 else "MISSED"
    return [
        "## Waitlist: 100,000 active entries in one clinic's queue",
        "",
        f"Seeded {waitlist.QUEUE:,} waiting patients in {seeded:.0f} s (COPY).",
        "",
        "| operation | per second | p95 ms | errors |",
        "|---|---:|---:|---:|",
        f"| join (16 concurrent staff requests, 1,000 joins) | {rates['join_rps']:.0f} | "
        f"{rates['join_p95']:.1f} | {rates['join_errors']:.0f} |",
        f"| promote into a free slot (16 concurrent, 400 promotions) | {rates['promote_rps']:.0f} | "
        f"{rates['promote_p95']:.1f} | {rates['promote_errors']:.0f} |",
        "",
        f"- Cancellation to the next candidate's invitation (`serve` with its in-process worker, "
        f"{latency['samples']:.0f} cancellations): p50 {latency['p50']:.0f} ms, "
        f"**p95 {latency['p95']:.0f} ms**, max {latency['max']:.0f} ms — target p95 < 1 s: {verdict}.",
        "",
    ]


def _auth_report(url: str, tenant: uuid.UUID, args: argparse.Namespace) -> list[str]:
    """Issue 3: argon2id cost, a login storm with a liveness probe, an authenticated read."""
    from bench import auth

    per_core = auth.hashes_per_second()
    emails = auth.seed_users(url, tenant, "bench-auth", count=8)
    auth.environment_for_servers()
    servers = {kind: start_server(kind, url) for kind in ("ours", "bare")}
    try:
        ours_port, bare_port = servers["ours"][1], servers["bare"][1]
        storm = asyncio.run(
            auth.login_storm(ours_port, "bench-auth", emails, seconds=args.seconds * 2, concurrency=16)
        )
        token = auth.access_token(ours_port, "bench-auth", emails[0])
        read_rounds = auth.compare_authenticated_read(
            ours_port,
            bare_port,
            tenant,
            token,
            rounds=args.rounds,
            seconds=args.seconds,
            concurrency=args.concurrency,
        )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    read = auth.median_rounds(read_rounds)
    cores = os.cpu_count() or 1
    lines = [
        "## Identity: argon2id logins, the event loop under a login storm, an authenticated read",
        "",
        f"- argon2id (m=19 MiB, t=2, p=1): **{per_core:.1f} hashes/s on one core**; "
        f"{cores} cores bound logins at about {per_core * cores:.0f}/s.",
        f"- Login storm (16 clients, {args.seconds * 2:.0f} s): **{storm['logins_per_s']:.1f} logins/s**, "
        f"login p50 {storm['login_p50']:.0f} ms, p99 {storm['login_p99']:.0f} ms, "
        f"{storm['login_errors']:.0f} errors.",
        f"- `/health/live` probed every 10 ms during the storm ({storm['live_samples']:.0f} samples): "
        f"p50 {storm['live_p50']:.1f} ms, **p99 {storm['live_p99']:.1f} ms**, max {storm['live_max']:.1f} ms "
        f"— target p99 < 50 ms: {'met' if storm['live_p99'] < 50 else 'MISSED'}.",
        "",
        "| endpoint | contender | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (("ours", "GET /api/v1/clinics, bearer token"), ("bare", "bare clinics query")):
        r = read[kind]
        lines.append(
            f"| authenticated read (25 clinics) | {label} | {r.rps:.0f} | {r.pct(50):.2f} | "
            f"{r.pct(95):.2f} | {r.pct(99):.2f} | {r.errors} |"
        )
    if read["ours"].errors or read["bare"].errors:
        lines += ["", "- authenticated read: INVALID, a contender answered errors"]
    else:
        ratio = read["ours"].rps / read["bare"].rps
        lines += [
            "",
            f"- authenticated read: ours / bare throughput = **{ratio:.2f}** (the platform baseline's "
            "tenant read is in the table above; the difference is the token check, and the session "
            "and grants lookup when the principal cache misses). Target >= 0.6: "
            f"{'met' if ratio >= 0.6 else 'MISSED'}.",
        ]
    lines += ["", "Every round of the authenticated read (alternating, same run):", ""]
    return [*lines, *auth.read_rounds_table(read_rounds), ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one measured round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per contender")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    parser.add_argument("--suite", choices=SUITES, default="all")
    parser.add_argument("--clients", type=int, default=64, help="booking suite: concurrent bookers")
    parser.add_argument("--subscribers", type=int, default=2000, help="SSE streams of the realtime suite")
    args = parser.parse_args()

    os.environ.setdefault("CLINICFLOW_LOG_LEVEL", "WARNING")
    sections: list[str] = []

    def done(section: str) -> None:  # each suite's table as soon as it is measured
        print(section, flush=True)
        sections.append(section)

    if args.suite in ("all", "platform", "auth", "waitlist"):
        url = prepare_database(BENCH_DB)
        tenant = _seed(url, tenants=200, clinics_per_tenant=25)
        paths = {
            "GET /health/ready": "/health/ready",
            "tenant-scoped read (25 clinics of 5,000)": f"/bench/tenants/{tenant}/clinics",
        }
        if args.suite in ("all", "platform"):
            done(_platform_report(url, paths, args))
        if args.suite in ("all", "auth"):
            done("\n".join(_auth_report(url, tenant, args)))
        if args.suite in ("all", "waitlist"):
            done("\n".join(_waitlist_report(url)))
    if args.suite in ("all", "booking"):
        done(booking.report(rounds=args.rounds, seconds=args.seconds, clients=args.clients))
    if args.suite in ("all", "slots"):
        done(slots.report(rounds=args.rounds, seconds=args.seconds))
    if args.suite in ("all", "realtime"):
        done("\n".join(realtime.report(prepare_database(BENCH_DB), subscribers=args.subscribers)))
    if args.suite in ("all", "checkin"):
        done(checkin.report(rounds=args.rounds, seconds=args.seconds, clients=args.clients))
    if args.suite in ("all", "pages"):
        done(pages.report(rounds=args.rounds, seconds=args.seconds, clients=16))
    if args.out:
        args.out.write_text("\n".join(sections))


def _platform_report(url: str, paths: dict[str, str], args: argparse.Namespace) -> str:
    rounds = _compare(url, paths, rounds=args.rounds, seconds=args.seconds, concurrency=args.concurrency)
    results = {name: {kind: median_result(rs) for kind, rs in by.items()} for name, by in rounds.items()}

    lines = [
        "## Platform baseline: our stack vs bare Starlette, same query, same run",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"database: {'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded PostgreSQL'}; "
        f"{args.concurrency} keep-alive connections, {args.rounds} alternating rounds "
        f"of {args.seconds:.0f} s, median round.",
        "",
        "| endpoint | contender | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for name, by_kind in results.items():
        for kind in ("ours", "bare"):
            r = by_kind[kind]
            figures = f"{r.rps:.0f} | {r.pct(50):.2f} | {r.pct(95):.2f} | {r.pct(99):.2f} | {r.errors}"
            lines.append(f"| {name} | {kind} | {figures} |")
        if any(r.errors for r in by_kind.values()):
            verdicts.append(f"- {name}: INVALID, a contender answered errors; no ratio reported")
            continue
        ratio = by_kind["ours"].rps / by_kind["bare"].rps
        # Each round ran ours then bare back to back: their ratio shows the run's noise.
        spread = ", ".join(
            f"{o.rps / b.rps:.2f}" for o, b in zip(rounds[name]["ours"], rounds[name]["bare"], strict=True)
        )
        verdicts.append(
            f"- {name}: ours / bare throughput = **{ratio:.2f}** (median rounds; round by round: {spread}) "
            f"(overhead {(1 - ratio) * 100:.0f}%; target: overhead ≤ 35%, i.e. ratio ≥ 0.65) — "
            f"{'meets' if ratio >= 0.65 else 'MISSES'} the target"
        )
    return "\n".join([*lines, "", *verdicts, ""])


if __name__ == "__main__":
    main()
