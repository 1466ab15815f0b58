"""The member's explanation is written from the loyalty catalogue: French comes from fr.po, and
numbers and dates from Babel, while tier, currency and activity names stay the programme's."""

from datetime import date

from egards.loyalty.domain import Bucket, explain_balance

from .builders import FLYING_BLUE, RETAIL, said


def test_an_expiring_balance_reads_the_same_in_both_languages_with_the_readers_figures():
    buckets = [Bucket("a", date(2024, 3, 2), date(2026, 3, 31), 8_000)]
    words = {
        lang: said(
            explain_balance(
                RETAIL,
                "POINTS",
                balance=12_450,
                tier="silver",
                as_of=date(2025, 6, 1),
                buckets=buckets,
            ),
            lang,
        )
        for lang in ("en", "fr")
    }
    assert words["en"] == (
        "12,450 points; 8,000 expire on 31 March 2026 (soonest-expiring are spent first)."
    )
    assert words["fr"] == (
        "12\u202f450 points ; 8\u202f000 expirent le 31 mars 2026 "
        "(les plus anciens sont dépensés en premier)."
    )


def test_a_balance_kept_alive_by_activity_gives_its_months_in_french():
    assert said(
        explain_balance(
            FLYING_BLUE,
            "MILES",
            balance=12_450,
            tier="gold",
            as_of=date(2025, 6, 1),
            last_activity_on=date(2025, 3, 3),
        ),
        "fr",
    ) == (
        "12\u202f450 Miles, valables jusqu'au 2 mars 2027 ; toute activité d'ici là les "
        "prolonge de 24 mois (dernière activité le 3 mars 2025)."
    )
