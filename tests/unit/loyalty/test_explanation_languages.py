"""The member's explanation is written from the loyalty catalogue: French comes from fr.po, and
numbers and dates from Babel, while tier, currency and activity names stay the programme's.
The balances are test_expiry's (the same builders), read in both languages."""

from datetime import date

from egards.loyalty.domain import Bucket

from .builders import miles_kept_alive_explained, retail_points_explained, said


def test_an_expiring_balance_reads_the_same_in_both_languages_with_the_readers_figures():
    buckets = [Bucket("a", date(2024, 3, 2), date(2026, 3, 31), 8_000)]
    explained = retail_points_explained(12_450, buckets=buckets)
    assert said(explained, "en") == (
        "12,450 points; 8,000 expire on 31 March 2026 (soonest-expiring are spent first)."
    )
    assert said(explained, "fr") == (
        "12\u202f450 points ; 8\u202f000 expirent le 31 mars 2026 "
        "(les plus anciens sont dépensés en premier)."
    )


def test_a_balance_kept_alive_by_activity_gives_its_months_in_french():
    assert said(miles_kept_alive_explained(), "fr") == (
        "12\u202f450 Miles, valables jusqu'au 2 mars 2027 ; toute activité d'ici là les "
        "prolonge de 24 mois (dernière activité le 3 mars 2025)."
    )
