"""Probabilistic linking with Splink (DuckDB backend): social profiles against customers,
and customers against each other (duplicates in the customer file).

The records of both sides are reduced to the same comparable columns (``profile_record``,
``customer_record``): first and last name (a display name is split), the name tokens of a
handle against the customer's name and e-mail local part, an alias (handle / e-mail local
part), city, language, the last four digits of a phone and a birth year (from a handle's
digits, from the customer's birth date). The model's u probabilities come from random
sampling, its m probabilities from expectation maximisation on blocked pairs, so that it
learns from the data at hand; a pair's *match weight* (log2 of the Bayes factor) is then set
against the two thresholds (``EGARDS_SOCIAL_LINK_UPPER`` / ``_LOWER``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from egards.i18n import C_, N_
from egards.messages import message, message_in

_SPLIT = re.compile(r"[^a-z]+")
_YEAR = re.compile(r"(19[3-9]\d|20[0-2]\d)")
NICKNAMES = {
    "jb": "jean-baptiste",
    "alex": "alexandre",
    "max": "maxime",
    "fred": "frederic",
    "seb": "sebastien",
    "nico": "nicolas",
    "steph": "stephanie",
    "cath": "catherine",
    "manu": "emmanuel",
    "flo": "florence",
    "val": "valerie",
    "chris": "christophe",
    "greg": "gregoire",
    "tom": "thomas",
    "ben": "benjamin",
    "matt": "matthieu",
    "juju": "julien",
    "caro": "caroline",
    "isa": "isabelle",
    "anto": "antoine",
}
COMPARISON_LABELS = {
    "first_name": C_("evidence", "first name"),
    "last_name": C_("evidence", "last name"),
    "tokens": C_("evidence", "handle words vs names and e-mail"),
    "alias": C_("evidence", "handle vs e-mail local part"),
    "city": C_("evidence", "city"),
    "language": C_("evidence", "language"),
    "phone_suffix": C_("evidence", "phone (last 4 digits)"),
    "birth_year": C_("evidence", "birth year"),
    "handle_keys": C_("evidence", "handle built from the names"),
    "surname_initial": C_("evidence", "surname initial"),
}
VERDICTS = {
    "different": C_("evidence", "different"),
    "same": C_("evidence", "same"),
    "close": C_("evidence", "close"),
}
COLUMNS = ("first_name", "last_name", "tokens", "alias", "city", "language", "phone_suffix",
           "birth_year", "handle_keys", "surname_initial")  # fmt: skip
SHORT_FORMS: dict[str, list[str]] = {}
for _short, _full in NICKNAMES.items():
    SHORT_FORMS.setdefault(_full, []).append(_short)


def plain(text: str | None) -> str:
    """Lower case, accents removed, separators as single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SPLIT.split(ascii_only)).strip()


def _first(name: str) -> str:
    first = plain(name).split(" ")[0] if name else ""
    return NICKNAMES.get(first, first).replace("-", " ").split(" ")[0] if first else ""


def _tokens(*texts: str | None) -> list[str]:
    found: list[str] = []
    for text in texts:
        for token in plain(text).split(" "):
            token = NICKNAMES.get(token, token).split("-")[0]
            if len(token) >= 2 and token not in found:
                found.append(token)
    return found


def _letters(text: str | None) -> str:
    return plain(text).replace(" ", "")


def handle_keys(first_name: str | None, last_name: str | None) -> list[str]:
    """The handles people build from their names, letters only (digits such as a birth year
    are compared apart): first name and surname glued either way, the first initial and the
    surname either way, and the first name (or a usual short form of it) followed by the
    start of the surname ("zoetho" for Zoé Thomas). A bare first name is not a key: it says
    nothing a first-name comparison does not say already."""
    firsts = [plain(first_name).replace(" ", "-")]
    if not firsts[0] or not last_name:
        return []
    firsts += SHORT_FORMS.get(firsts[0], [])
    surnames = [_letters(last_name)]
    parts = plain(last_name).split(" ")
    if len(parts) > 1:  # "Lacroix-Masson": the first part alone too
        surnames.append(parts[0])
    found: list[str] = []
    for first in (f.replace("-", "") for f in firsts):
        for last in surnames:
            candidates = [last + first, first[0] + last, last + first[0]]
            candidates += [first + last[:k] for k in range(1, len(last) + 1)]
            found += [c for c in candidates if len(c) >= 4 and c not in found]
    return found


def _or_none(value: Any) -> Any:
    return value if value not in ("", [], None) else None


def profile_record(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A social profile as a record: ``id``, ``display_name``, ``handle``, ``email``,
    ``location``, ``language``, ``phone`` (any may be missing)."""
    words = plain(profile.get("display_name")).split(" ")
    # "Marie D.": the last word is an initial, not a name.
    last = words[-1] if len(words) > 1 else ""
    initial = last[:1] or None
    handle = profile.get("handle") or ""
    year = _YEAR.search(handle)
    email_local = (profile.get("email") or "").split("@")[0]
    phone = re.sub(r"\D", "", profile.get("phone") or "")
    return {
        "unique_id": str(profile["id"]),
        "first_name": _or_none(_first(words[0]) if words and words[0] else ""),
        "last_name": _or_none(last if len(last) > 1 else ""),
        "initial": initial,
        "tokens": _or_none(_tokens(handle.replace("_", " ").replace(".", " "), email_local)),
        "alias": _or_none(re.sub(r"[^a-z]", "", plain(email_local or handle))),
        "city": _or_none(
            plain(profile.get("location")).split(" ")[0] if profile.get("location") else ""
        ),
        "language": _or_none(profile.get("language")),
        "phone_suffix": _or_none(phone[-4:] if len(phone) >= 4 else ""),
        "birth_year": _or_none(year.group(1) if year else ""),
        "handle_keys": _or_none([key] if len(key := _letters(handle)) >= 4 else []),
        # Compared only when the surname is not shown: beside a full surname it would count
        # the surname's first letter twice.
        "surname_initial": initial if len(last) == 1 else None,
    }


def customer_record(customer: Mapping[str, Any]) -> dict[str, Any]:
    """A customer as a record: ``id``, ``first_name``, ``last_name``, ``email``, ``city``,
    ``preferred_language``, ``phone``, ``birth_date`` (any may be missing)."""
    email_local = (customer.get("email") or "").split("@")[0]
    phone = re.sub(r"\D", "", customer.get("phone") or "")
    birth = customer.get("birth_date")
    last = plain(customer.get("last_name")).split(" ")
    keys = handle_keys(customer.get("first_name"), customer.get("last_name"))
    alias = re.sub(r"[^a-z]", "", plain(email_local))
    # An e-mail local part made of the names ("sarah.sanchez") says no more than the names
    # (compared already): as an alias it would count them twice and favour a homonym.
    if alias in keys or alias in (_letters(customer.get("first_name")), _letters(last[-1])):
        alias = ""
    return {
        "unique_id": str(customer["id"]),
        "first_name": _or_none(_first(customer.get("first_name") or "")),
        "last_name": _or_none(last[-1] if last else ""),
        "initial": _or_none(last[-1][:1] if last else ""),
        "tokens": _or_none(
            _tokens(customer.get("first_name"), customer.get("last_name"), email_local)
        ),
        "alias": _or_none(alias),
        "city": _or_none(plain(customer.get("city")).split(" ")[0] if customer.get("city") else ""),
        "language": _or_none(customer.get("preferred_language")),
        "phone_suffix": _or_none(phone[-4:] if len(phone) >= 4 else ""),
        "birth_year": _or_none(str(birth)[:4] if birth else ""),
        "handle_keys": _or_none(keys),
        # The first letter of the whole surname: "Zoé L." for Zoé Laurent-Gaillard.
        "surname_initial": _or_none(last[0][:1] if last else ""),
    }


@dataclass(frozen=True)
class ScoredPair:
    left_id: str
    right_id: str
    match_weight: float
    match_probability: float
    levels: Mapping[str, int] = field(default_factory=dict)
    """The comparison level of each column (Splink's gamma: -1 missing, 0 different, higher
    is closer)."""

    def evidence(self) -> list[dict[str, Any]]:
        """What a reviewer reads: each column that agreed or disagreed, in words (``detail``
        in English, ``message`` to read in the reader's language)."""
        out = []
        for column, level in self.levels.items():
            if level < 0:
                continue
            verdict = (
                "different" if level == 0 else "same" if level >= _TOP.get(column, 1) else "close"
            )
            out.append(comparison_evidence(column, verdict, level))
        return out


def comparison_evidence(column: str, verdict: str, level: int) -> dict[str, Any]:
    """One comparison's outcome as stored evidence: the comparison and its verdict ("same",
    "close", "different") as a message read in the reviewer's language, its English beside."""
    label = COMPARISON_LABELS.get(column, column)
    said = message(
        N_("{comparison}: {verdict}"),
        comparison=message_in("evidence", label),
        verdict=message_in("evidence", VERDICTS[verdict]),
    )
    detail = f"{label}: {VERDICTS[verdict]}"
    return {"method": column, "detail": detail, "level": level, "message": said}


_TOP = {"first_name": 4, "last_name": 4, "tokens": 2, "alias": 3, "handle_keys": 1}
PROFILE_ONLY = ("handle_keys", "surname_initial")
"""Compared between a profile and a customer, not between two customers: a handle is a
profile's, and a customer's initial only repeats their surname."""


# m probabilities (how often each level is seen for a true match), set from what people do
# online (nicknames, initials, handles from names) rather than learnt by expectation
# maximisation, which drifts on link-only data with few matches; u probabilities (how often
# by chance) are estimated from the data by random sampling. Reviewers' decisions can refit m.
M_PROBABILITIES = {
    "first_name": [0.72, 0.08, 0.06, 0.04, 0.10],
    "last_name": [0.78, 0.08, 0.05, 0.03, 0.06],
    # Glued handles ("zoetho") share no word with the names: common, so weakly against.
    "tokens": [0.45, 0.25, 0.30],
    "alias": [0.35, 0.10, 0.15, 0.40],
    "city": [0.85, 0.15],
    "language": [0.92, 0.08],
    "phone_suffix": [0.95, 0.05],
    "birth_year": [0.93, 0.07],
    "handle_keys": [0.55, 0.45],
    # "Marie D." against Dubois: an initial is rarely mistyped.
    "surname_initial": [0.97, 0.03],
}


PRIOR_WEIGHT = 20
"""How many reviewed pairs the shipped m probabilities count for when reviews refit them."""


def refit_m(
    confirmed: Iterable[Mapping[str, int]],
    *,
    prior: Mapping[str, Sequence[float]] = M_PROBABILITIES,
    prior_weight: float = PRIOR_WEIGHT,
) -> dict[str, list[float]]:
    """The m probabilities learnt from the comparison levels of links a person confirmed
    (true matches): per column, how often each level was seen, blended with ``prior`` as
    if it were ``prior_weight`` pairs, so that a few reviews nudge the model and many
    reviews lead it. A column missing on a pair (level -1) says nothing about it."""
    counts = {column: [0] * len(values) for column, values in prior.items()}
    for levels in confirmed:
        for column, level in levels.items():
            values = counts.get(column)
            if values is None or not 0 <= level < len(values):
                continue
            values[len(values) - 1 - level] += 1  # highest level first, as Splink lists them
    fitted = {}
    for column, values in counts.items():
        seen = sum(values)
        blended = [
            (count + prior_weight * p) / (seen + prior_weight)
            for count, p in zip(values, prior[column], strict=True)
        ]
        fitted[column] = [round(value, 6) for value in blended]
    return fitted


def _comparisons(
    m_probabilities: Mapping[str, Sequence[float]] | None = None, *, handles: bool = True
) -> list[Any]:
    import splink.comparison_library as cl

    found = [
        cl.JaroWinklerAtThresholds("first_name", [0.95, 0.88, 0.7]),
        cl.JaroWinklerAtThresholds("last_name", [0.95, 0.88, 0.7]),
        cl.ArrayIntersectAtSizes("tokens", [2, 1]),
        cl.JaroWinklerAtThresholds("alias", [0.95, 0.85]),
        cl.ExactMatch("city"),
        cl.ExactMatch("language"),
        cl.ExactMatch("phone_suffix"),
        cl.ExactMatch("birth_year"),
        cl.ArrayIntersectAtSizes("handle_keys", [1]),
        cl.ExactMatch("surname_initial"),
    ]
    m = {**M_PROBABILITIES, **(m_probabilities or {})}
    return [
        comparison.configure(m_probabilities=list(m[column]))
        for comparison, column in zip(found, COLUMNS, strict=True)
        if handles or column not in PROFILE_ONLY
    ]


BLOCKING_KEYS = (
    ("first_name", "last_name"),
    ("alias",),
    ("last_name", "city"),
    ("phone_suffix", "first_name:1"),
    # First name and surname initial ("Marie D.") only with a fact beyond the name: on
    # its own this key pairs each profile with one customer in six hundred (a hundred
    # million pairs for 50,000 profiles against a million customers).
    ("first_name", "initial", "city"),
    ("first_name", "initial", "birth_year"),
)
"""The blocking rules, each the columns two records must share ("first_name:1": its first
letter); profiles against customers are also paired on a shared handle key. Written once:
Splink's rules for the batch (``_blocking``) and the key table one new profile is looked up
in (``Model``) are both made from it."""


def _sql_of(part: str) -> str:
    column, _, length = part.partition(":")
    return f"substr({column}, 1, {length})" if length else column


def blocking_keys(record: Mapping[str, Any]) -> list[str]:
    """A record's blocking keys as strings ("0|zoe|thomas", "h|zoetho"): two records are a
    candidate pair when they share one (``BLOCKING_KEYS``, and the handle keys)."""
    found = []
    for number, rule in enumerate(BLOCKING_KEYS):
        values = [str(number)]
        for part in rule:
            column, _, length = part.partition(":")
            value = record.get(column)
            if value is None:
                break
            values.append(value[: int(length)] if length else value)
        else:
            found.append("|".join(values))
    return found + [f"h|{key}" for key in record.get("handle_keys") or ()]


def _keys_sql(table: str) -> str:
    """``blocking_keys`` in SQL, for every row of ``table`` (with its ``row`` number)."""
    selects = [
        f"SELECT '{number}|' || " + " || '|' || ".join(map(_sql_of, rule)) + f" AS key, row "
        f"FROM {table}"
        for number, rule in enumerate(BLOCKING_KEYS)
    ]
    selects.append(f"SELECT 'h|' || unnest(handle_keys) AS key, row FROM {table}")
    return f"SELECT key, row FROM ({' UNION ALL '.join(selects)}) WHERE key IS NOT NULL"


def _blocking(*, handles: bool = True) -> list[Any]:
    """Candidate pairs (``BLOCKING_KEYS``): same first and last name, same alias, same last
    name in the same city, the same phone digits and first letter, the same first name and
    surname initial in the same city or with the same birth year, or (profiles against
    customers) a handle built from the customer's names. Tight enough for 50,000 profiles
    against a million customers; a typo in both names at once is left to the deterministic
    rules."""
    from splink import block_on

    rules = [block_on(*map(_sql_of, rule)) for rule in BLOCKING_KEYS]
    if handles:
        rules.append(block_on("handle_keys", arrays_to_explode=["handle_keys"]))
    return rules


def _settings(
    link_type: Literal["link_only", "dedupe_only"],
    prior: float,
    m_probabilities: Mapping[str, Sequence[float]] | None = None,
) -> Any:
    from splink import SettingsCreator

    # Handles are a profile's: between two customers the keys only repeat their names.
    handles = link_type == "link_only"
    return SettingsCreator(
        probability_two_random_records_match=prior,
        link_type=link_type,
        comparisons=_comparisons(m_probabilities, handles=handles),
        blocking_rules_to_generate_predictions=_blocking(handles=handles),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


def _pairs(predicted: Any, *, right_name: str | None) -> list[ScoredPair]:
    """The scored pairs of Splink's ``predicted`` table (see ``_read_pairs``)."""
    return _read_pairs(predicted.as_duckdbpyrelation(), right_name=right_name)


def _read_pairs(relation: Any, *, right_name: str | None) -> list[ScoredPair]:
    """The scored pairs of a DuckDB relation shaped as Splink's predictions, read with only
    the columns a pair keeps (ids, weight, probability, levels): the table also holds every
    compared value and Bayes factor, which a million pairs read as Python dicts turned into
    gigabytes."""
    names = relation.columns
    gammas = [c for c in names if c.startswith("gamma_")]
    source = "source_dataset_l" if "source_dataset_l" in names else "NULL"
    columns = ", ".join(["unique_id_l", "unique_id_r", source, "match_weight",
                         "match_probability", *gammas])  # fmt: skip
    rows = relation.project(columns).fetchall()
    keys = [g[6:] for g in gammas]
    pairs = []
    for left_id, right_id, dataset, weight, probability, *levels in rows:
        if right_name is not None and dataset == right_name:
            left_id, right_id = right_id, left_id
        pairs.append(
            ScoredPair(
                left_id=str(left_id),
                right_id=str(right_id),
                match_weight=float(weight),
                match_probability=float(probability),
                levels=dict(zip(keys, map(int, levels), strict=True)),
            )
        )
    return pairs


def _scoring_sql(settings: Any) -> str:
    """The SQL that scores every pair of the tables ``one_record`` and ``candidate_records``
    with a trained model (Splink's own comparison and prediction SQL, the weights written
    in), made once: Splink generates and parses it again at each call, which cost a new
    profile most of its time."""
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings

    blocked = ", ".join(settings._columns_to_select_for_blocking)
    vectors = ", ".join(settings._columns_to_select_for_comparison_vector_values)
    steps = [
        (
            "__splink__compare_two_records_blocked",
            f"SELECT {blocked}, 0 AS match_key"
            " FROM (SELECT *, 'side_a' AS source_dataset FROM one_record) AS l"
            " CROSS JOIN (SELECT *, 'side_b' AS source_dataset FROM candidate_records) AS r",
        ),
        (
            "__splink__df_comparison_vectors",
            f"SELECT {vectors} FROM __splink__compare_two_records_blocked",
        ),
        *(
            (step["output_table_name"], step["sql"])
            for step in predict_from_comparison_vectors_sqls_using_settings(settings)
        ),
    ]
    ctes = ",\n".join(f"{name} AS ({sql})" for name, sql in steps)
    return f"WITH {ctes}\nSELECT * FROM {steps[-1][0]} WHERE match_weight >= $min_weight"


class Model:
    """A model trained once against a set of customers, to score new profiles one at a
    time (a webhook's author) without training again. The customers' records and their
    blocking keys (``blocking_keys``, sorted) stay in DuckDB, and the scoring SQL is made
    once: a new record's candidates are the rows sharing one of its keys, scored by that
    SQL."""

    def __init__(
        self,
        right: Sequence[Mapping[str, Any]],
        *,
        seed: int = 42,
        m_probabilities: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        import duckdb
        import pyarrow as pa
        from splink import DuckDBAPI, Linker

        logging.getLogger("splink").setLevel(logging.ERROR)
        self._pa = pa
        self._con = duckdb.connect()
        self._customers = frame = _frame(pa, right)
        self._con.register("customer_frame", frame)
        self._con.execute("CREATE TABLE customer_records AS SELECT * FROM customer_frame")
        self._con.unregister("customer_frame")
        # A key's row is its customer's place in ``_customers``. Sorted, so that a key's
        # rows sit in one block, which DuckDB's min/max per block finds without reading
        # the others.
        self._con.execute(
            "CREATE TABLE customer_keys AS SELECT key, row FROM ("
            + _keys_sql("(SELECT *, CAST(rowid AS BIGINT) AS row FROM customer_records)")
            + ") ORDER BY key"
        )
        self._db_api = DuckDBAPI(connection=self._con)
        right_table = self._db_api.register("customer_records", dataset_display_name="side_b")
        # Chance agreement (u) is learnt between customers: random pairs of people.
        step = max(len(right) // 20_000, 1)
        sample = self._db_api.register(_frame(pa, right[::step]), dataset_display_name="side_a")
        prior = 1 / max(len(right), 2)
        settings = _settings("link_only", prior, m_probabilities)
        self._linker = Linker([sample, right_table], settings, log_level=None)
        self._linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
        self._sql = _scoring_sql(self._linker._settings_obj)

    def add(self, right: Sequence[Mapping[str, Any]]) -> None:
        """Customers created or changed since training join the model: their records and
        blocking keys (chance agreement is not learnt again: a few customers do not move it).
        A changed customer's earlier row stays beside the new one: the product reads the
        candidates' current records before scoring (``candidate_ids``)."""
        if not right:
            return
        start = self._customers.num_rows
        frame = _frame(self._pa, right)
        rows = self._pa.array(range(start, start + frame.num_rows), self._pa.int64())
        self._con.register("added_frame", frame.append_column("row", rows))
        try:
            self._con.execute("INSERT INTO customer_keys " + _keys_sql("added_frame"))
        finally:
            self._con.unregister("added_frame")
        self._customers = self._pa.concat_tables([self._customers, frame])

    def candidate_ids(self, record: Mapping[str, Any]) -> list[str]:
        """The ids of the customers sharing a blocking key with ``record``, each once."""
        return sorted(set(self.candidates(record).column("unique_id").to_pylist()))

    def candidates(self, record: Mapping[str, Any]) -> Any:
        """The customers sharing a blocking key with ``record`` (an Arrow table)."""
        # One equality per key, written out: DuckDB then skips the blocks whose min/max
        # rule the key out (an IN list of parameters reads the whole key table).
        lookups = [
            "SELECT row FROM customer_keys WHERE key = '" + key.replace("'", "''") + "'"
            for key in blocking_keys(record)
        ]
        rows = self._con.execute(" UNION ".join(lookups)).fetchall() if lookups else []
        return self._customers.take(self._pa.array(sorted(r for (r,) in rows), self._pa.int64()))

    def score_one(
        self,
        record: Mapping[str, Any],
        *,
        min_weight: float = 0.0,
        among: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[ScoredPair]:
        """``record`` scored against its candidates, or against the customer records
        ``among`` (the candidates as they are now in the customer file)."""
        found = self.candidates(record) if among is None else _frame(self._pa, among)
        if found.num_rows == 0:
            return []
        self._con.register("one_record", _frame(self._pa, [record]))
        self._con.register("candidate_records", found)
        try:
            scored = self._con.sql(self._sql, params={"min_weight": min_weight})
            return _read_pairs(scored, right_name=None)
        finally:
            self._con.unregister("one_record")
            self._con.unregister("candidate_records")


def score(
    left: Sequence[Mapping[str, Any]],
    right: Sequence[Mapping[str, Any]] | None,
    *,
    min_weight: float = 0.0,
    max_pairs_u: float = 1e6,
    seed: int = 42,
    m_probabilities: Mapping[str, Sequence[float]] | None = None,
    db_api: Any = None,
) -> list[ScoredPair]:
    """Train the model on these records and score the blocked pairs: ``left`` against
    ``right`` (profiles against customers), or within ``left`` when ``right`` is ``None``
    (duplicates). Pairs under ``min_weight`` are not returned. ``db_api``: a Splink backend
    to make and score the pairs on (a ``SparkAPI`` for the batch on Spark), with the model
    trained here (u is sampled by the engine's own hash function, so training elsewhere
    would learn other values); DuckDB in this process if ``None``."""
    linker = _trained(
        left, right, max_pairs_u=max_pairs_u, seed=seed, m_probabilities=m_probabilities
    )
    if db_api is not None:
        trained, linker = linker, _linker(db_api, left, right, m_probabilities)
        for comparison, fitted in zip(
            linker._settings_obj.comparisons, trained._settings_obj.comparisons, strict=True
        ):
            for level, source in zip(
                comparison.comparison_levels, fitted.comparison_levels, strict=True
            ):
                level._u_probability = source._u_probability
    predicted = linker.inference.predict(threshold_match_weight=min_weight, warning_mode="never")
    pairs = _pairs(predicted, right_name="side_b" if right is not None else None)
    predicted.drop_table_from_database_and_remove_from_cache()
    return pairs


def parameters(
    left: Sequence[Mapping[str, Any]],
    right: Sequence[Mapping[str, Any]] | None,
    *,
    max_pairs_u: float = 1e6,
    seed: int = 42,
    m_probabilities: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, dict[str, list[float | None]]]:
    """The parameters ``score`` trains on these records: per column, the m and u
    probabilities of each level, highest level first. Training is deterministic: m is given
    (shipped or refit from reviews), and the pairs u is counted on are chosen by a hash of the
    record ids and ``seed`` (Splink's sampling), so the same records give the same parameters
    whatever their order, the run or the number of DuckDB threads."""
    linker = _trained(
        left, right, max_pairs_u=max_pairs_u, seed=seed, m_probabilities=m_probabilities
    )
    found: dict[str, dict[str, list[float | None]]] = {}
    for comparison in linker.misc.save_model_to_json()["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if "m_probability" in level]
        found[comparison["output_column_name"]] = {
            "m": [level["m_probability"] for level in levels],
            # None: no sampled pair reached that level, so u was not estimated.
            "u": [level.get("u_probability") for level in levels],
        }
    return found


def _trained(
    left: Sequence[Mapping[str, Any]],
    right: Sequence[Mapping[str, Any]] | None,
    *,
    max_pairs_u: float,
    seed: int,
    m_probabilities: Mapping[str, Sequence[float]] | None,
) -> Any:
    from splink import DuckDBAPI

    linker = _linker(DuckDBAPI(), left, right, m_probabilities)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=seed)
    return linker


def _linker(
    db_api: Any,
    left: Sequence[Mapping[str, Any]],
    right: Sequence[Mapping[str, Any]] | None,
    m_probabilities: Mapping[str, Sequence[float]] | None,
) -> Any:
    import pyarrow as pa
    from splink import Linker

    logging.getLogger("splink").setLevel(logging.ERROR)
    frames = [_frame(pa, left)] + ([_frame(pa, right)] if right is not None else [])
    tables = [
        db_api.register(frame, dataset_display_name=name)
        for frame, name in zip(frames, ("side_a", "side_b"), strict=False)
    ]
    # A profile belongs to at most one customer: the prior is one in the other side's size.
    prior = 1 / max(len(right) if right is not None else len(left), 2)
    link_type = "link_only" if right is not None else "dedupe_only"
    linker = Linker(
        tables if right is not None else tables[0],
        _settings(link_type, prior, m_probabilities),
        log_level=None,
    )
    return linker


def _frame(pa: Any, records: Iterable[Mapping[str, Any]]) -> Any:
    rows = records if isinstance(records, Sequence) else list(records)
    names = ("unique_id", "initial", *COLUMNS)
    # Column by column: an Arrow table from a million dicts costs a dict per row again.
    arrays = [
        pa.array(
            [row.get(c) for row in rows],
            type=pa.list_(pa.string()) if c in ("tokens", "handle_keys") else pa.string(),
        )
        for c in names
    ]
    return pa.Table.from_arrays(arrays, names=list(names))


def decide(weight: float, *, upper: float, lower: float) -> str:
    """``link`` at or above the upper threshold, ``review`` between, ``nothing`` below."""
    if weight >= upper:
        return "link"
    if weight >= lower:
        return "review"
    return "nothing"


CORROBORATING = ("city", "birth_year", "phone_suffix")
HANDLE_EVIDENCE = ("handle_keys", "tokens", "alias")


def corroborated(levels: Mapping[str, int]) -> bool:
    """A name is not enough to link on its own (homonyms): an automatic link also needs
    one fact beyond the name to agree (city, birth year, phone digits)."""
    return any(levels.get(column, -1) >= 1 for column in CORROBORATING)


def contradicted(levels: Mapping[str, int]) -> bool:
    """A fact beyond the name disagrees (another city, birth year or phone): the mark of a
    homonym, never linked automatically whatever the names say."""
    return any(levels.get(column, -1) == 0 for column in CORROBORATING)


def handle_agrees(levels: Mapping[str, int]) -> bool:
    """The handle, not only the display name, points at the customer's names or e-mail."""
    return any(levels.get(column, -1) >= 1 for column in HANDLE_EVIDENCE)


@dataclass(frozen=True)
class Decision:
    left_id: str
    outcome: str
    """link, review or nothing."""
    best: ScoredPair | None
    runner_up: ScoredPair | None = None


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """The match weights ``decide_best`` decides with (``settings.link_thresholds`` builds
    them from the ``EGARDS_SOCIAL_LINK_*`` settings, so that the batch, the arrival and the
    benchmarks decide alike)."""

    upper: float
    lower: float
    margin: float
    name_only_upper: float | None = None

    def decide(self, pairs: Iterable[ScoredPair]) -> dict[str, Decision]:
        """``decide_best`` with these thresholds."""
        return decide_best(
            pairs,
            upper=self.upper,
            lower=self.lower,
            margin=self.margin,
            name_only_upper=self.name_only_upper,
        )


def decide_best(
    pairs: Iterable[ScoredPair],
    *,
    upper: float,
    lower: float,
    margin: float,
    name_only_upper: float | None = None,
) -> dict[str, Decision]:
    """For each left record: link to its best candidate when that one is above ``upper``
    with a fact beyond the name agreeing (or, with nothing beyond the names known either
    way, above ``name_only_upper`` with the handle agreeing too), no fact disagreeing, and
    standing ``margin`` above the next (two homonyms are a person's call); review when the
    best is above ``lower``, nothing otherwise. ``name_only_upper`` ``None``: names alone
    never link."""
    ranked: dict[str, list[ScoredPair]] = {}
    for pair in pairs:
        ranked.setdefault(pair.left_id, []).append(pair)
    decisions = {}
    for left_id, candidates in ranked.items():
        candidates.sort(key=lambda p: -p.match_weight)
        best = candidates[0]
        second = candidates[1] if len(candidates) > 1 else None
        outcome = decide(best.match_weight, upper=upper, lower=lower)
        ambiguous = second is not None and best.match_weight - second.match_weight < margin
        levels = best.levels
        if corroborated(levels):
            enough = True
        else:
            enough = (
                name_only_upper is not None
                and best.match_weight >= name_only_upper
                and handle_agrees(levels)
            )
        if outcome == "link" and (ambiguous or contradicted(levels) or not enough):
            outcome = "review"
        decisions[left_id] = Decision(left_id, outcome, best, second)
    return decisions
