"""The benchmark's pure parts: reading wrk's output, and the report it prints."""

import pytest

from bench.calls import CallFigures
from bench.csv_import import ImportFigure
from bench.report import Results, markdown, rows, summary
from bench.service import Flood, LoadFigures
from bench.tooling import GenFigures, Render, SuiteRun
from bench.wrk import Load, parse

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.51ms    2.10ms  40.12ms   88.00%
    Req/Sec     1.23k   100.00     1.50k    70.00%
  24600 requests in 10.00s, 9.80MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   2460.00
Transfer/sec:      0.98MB
BENCH {"requests":24600,"duration_us":10000000,"connect":0,"read":1,"write":0,"timeout":2,\
"non_2xx":12,"p50_us":6100,"p99_us":15250,"statuses":{"401":10,"429":2}}
"""


def load(rate: float, p99_ms: float = 10.0, failures: int = 0, cpu_us: float = 1000) -> Load:
    return Load(
        requests=int(rate * 10),
        seconds=10.0,
        p50_ms=p99_ms / 2,
        p99_ms=p99_ms,
        socket_errors=0,
        timeouts=0,
        non_2xx=failures,
        statuses={},
        server_cpu_s=rate * 10 * cpu_us / 1e6,
    )


def results(
    *,
    get_rate: float,
    beside_flood: float,
    import_peaks: tuple[float, float] = (80.0, 82.0),
    last_entity_calls: int = 1900,
) -> Results:
    operations = {
        operation: {"ours": load(700), "limit": load(1000)}
        for operation in ("get", "list", "create", "update")
    }
    operations["get"]["ours"] = load(get_rate, p99_ms=20.0, cpu_us=1250)
    logins = Load(40, 10.0, 50.0, 90.0, 0, 0, 40, {401: 10, 429: 30})
    return Results(
        renders={"default": Render(cli_s=1.2, in_process_s=0.5, files=80)},
        working_tree_cli_s=None,
        gen=GenFigures(entity_s=0.6, field_add_s=0.7),
        tests={"SQLite": SuiteRun(4.0, "100 passed"), "PostgreSQL": SuiteRun(5.0, "100 passed")},
        load=LoadFigures(
            operations=operations,
            overload={16: load(700), 128: load(600)},
            flood=Flood(4, alone=load(700), beside_flood=load(beside_flood), logins=logins),
            two_workers={
                operation: {"ours": load(1200, cpu_us=1100), "limit": load(1600)}
                for operation in ("get", "list", "create", "update")
            },
        ),
        imports=[
            ImportFigure("SQLite", 100_000, 4.0, import_peaks[0]),
            ImportFigure("SQLite", 1_000_000, 40.0, import_peaks[1]),
        ],
        calls=CallFigures(
            "PostgreSQL",
            {"get": 1800, "list": 3300, "create": 2100, "update": 2400}
            | {"first entity": 1850, "last entity": last_entity_calls},
            {"get": 900.0, "list": 2500.0, "create": 1200.0, "update": 1400.0}
            | {"first entity": 910.0, "last entity": 930.0},
        ),
    )


def test_parse_reads_the_result_line() -> None:
    result = parse(WRK_OUTPUT)
    assert result.rate == 2460.0
    assert (result.p50_ms, result.p99_ms) == (6.1, 15.25)
    assert (result.socket_errors, result.timeouts, result.non_2xx) == (1, 2, 12)
    assert result.failures == 15
    assert result.statuses == {401: 10, 429: 2}


def test_parse_refuses_output_without_a_result() -> None:
    with pytest.raises(ValueError, match="no BENCH line"):
        parse("unable to connect to 127.0.0.1:8000 Connection refused\n")


def test_rows_give_ratios_to_the_limit_and_check_goals() -> None:
    table = {row.figure: row for row in rows(results(get_rate=800, beside_flood=600))}
    get = table["GET one by id: requests/s"]
    assert (get.ours, get.limit, get.ratio, get.met) == ("800", "1,000", "0.80", True)
    cpu = table["GET one by id: server CPU per request, us"]
    assert (cpu.ours, cpu.limit, cpu.ratio) == ("1,250", "1,000", "0.80")
    p99 = table["GET one by id: p99 ms"]
    assert (p99.ratio, p99.met) == ("2.00", False)  # over 1.5 times the limit's
    kept = table["overload: GET by id at 128 connections, requests/s (share kept)"]
    assert (kept.ratio, kept.met) == ("0.86", True)
    lost = table["login flood: GET by id beside the flood, requests/s (share lost)"]
    assert (lost.ratio, lost.met) == ("0.14", True)


def test_missed_goals_are_named() -> None:
    table = rows(results(get_rate=600, beside_flood=400))
    missed = summary(table)
    assert "GET one by id: requests/s" in missed
    assert "login flood" in missed
    assert "POST create: requests/s" not in missed  # 0.70 of the limit is enough


def test_markdown_lines_up_every_row() -> None:
    text = markdown(rows(results(get_rate=800, beside_flood=600)))
    lines = text.splitlines()
    assert lines[0].startswith("| figure")
    assert set(lines[1]) <= {"|", "-"}
    assert len({len(line) for line in lines}) == 1


def test_import_rows_check_that_memory_stays_flat() -> None:
    flat = {row.figure: row for row in rows(results(get_rate=800, beside_flood=600))}
    big = flat["CSV import, 1,000,000 rows, SQLite: rows/s (peak memory)"]
    assert (big.ours, big.ratio, big.met) == ("25,000 (82 MiB)", "1.02", True)
    grown = rows(results(get_rate=800, beside_flood=600, import_peaks=(80.0, 400.0)))
    assert [row.met for row in grown if row.figure.startswith("CSV import, 1,000,000")] == [False]


def test_call_rows_check_that_the_last_entity_costs_as_much_as_the_first() -> None:
    title = "GET by id of the 20th of 20 generated entities, of the 1st: Python calls"
    flat = {row.figure: row for row in rows(results(get_rate=800, beside_flood=600))}
    assert (flat[title].ours, flat[title].ratio, flat[title].met) == ("1,900 / 1,850", "1.03", True)
    get = flat["GET one by id: Python calls per request (PostgreSQL)"]
    assert get.ours == "1,800 (900 us)"
    grown = {
        row.figure: row
        for row in rows(results(get_rate=800, beside_flood=600, last_entity_calls=2700))
    }
    assert (grown[title].ratio, grown[title].met) == ("1.46", False)


def test_two_worker_rows_compare_with_the_limit_and_with_one_worker() -> None:
    table = {row.figure: row for row in rows(results(get_rate=800, beside_flood=600))}
    get = table["GET one by id, 2 workers: requests/s (x one worker's)"]
    assert (get.ours, get.limit, get.ratio) == ("1,200 (x1.50)", "1,600 (x1.60)", "0.75")
    assert get.met is None  # the goals are one worker's
    cpu = table["POST create, 2 workers: server CPU per request, us"]
    assert (cpu.ours, cpu.limit, cpu.ratio) == ("1,100", "1,000", "0.91")
