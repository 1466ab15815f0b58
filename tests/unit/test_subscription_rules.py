"""Rules of subscriptions: end dates, fees, second requests, matching, retention, win-back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from egards.errors import Conflict, InvalidInput
from egards.formats import format_money
from egards.subscriptions import acknowledgement as ack
from egards.subscriptions import domain
from egards.subscriptions.domain import RequestStatus, Standing, Terms

TERMS = Terms(
    start_date=date(2025, 1, 10),
    notice_days=30,
    monthly_price_cents=3999,
    commitment_end=date(2027, 1, 10),
)


def test_notice_period_moves_the_end_date():
    plan = domain.plan_end(TERMS, received_on=date(2026, 12, 3), desired=date(2026, 12, 10))
    assert plan.end_date == date(2027, 1, 2)
    assert plan.earliest_end == date(2027, 1, 2)
    assert plan.moved_to_earliest


def test_no_date_asked_means_the_earliest_one():
    plan = domain.plan_end(TERMS, received_on=date(2026, 12, 3))
    assert plan.end_date == date(2027, 1, 2) and not plan.moved_to_earliest


def test_a_later_date_asked_is_kept():
    plan = domain.plan_end(TERMS, received_on=date(2026, 12, 3), desired=date(2027, 3, 1))
    assert plan.end_date == date(2027, 3, 1) and not plan.moved_to_earliest
    assert plan.fee_cents == 0 and not plan.within_commitment


def test_ending_within_the_commitment_costs_a_quarter_of_the_remaining_fees():
    plan = domain.plan_end(TERMS, received_on=date(2026, 3, 1))
    # Ends 31 March 2026; ten months begun remain until 10 January 2027.
    assert plan.end_date == date(2026, 3, 31)
    assert plan.within_commitment
    assert plan.fee_cents == (10 * 3999 * 25 + 50) // 100


def test_legitimate_reason_waives_the_early_fee():
    plan = domain.plan_end(TERMS, received_on=date(2026, 3, 1), legitimate_reason="job_loss")
    assert plan.fee_cents == 0 and plan.fee_waived


def test_unknown_legitimate_reason_is_refused_by_field():
    with pytest.raises(InvalidInput) as refused:
        domain.plan_end(TERMS, received_on=date(2026, 3, 1), legitimate_reason="bored")
    assert refused.value.field == "legitimate_reason"


def test_notice_never_runs_from_before_the_contract_started():
    terms = Terms(start_date=date(2027, 2, 1), notice_days=10, monthly_price_cents=1000)
    assert domain.earliest_end(terms, date(2027, 1, 1)) == date(2027, 2, 11)


def test_second_request_for_the_same_contract_leaves_the_first_standing():
    admission = domain.admit_request("notice_given", has_open_request=True)
    assert admission.status == RequestStatus.DUPLICATE and not admission.stands


def test_an_ended_contract_is_not_cancelled_again():
    admission = domain.admit_request("ended", has_open_request=False)
    assert admission.status == RequestStatus.ALREADY_ENDED and not admission.stands


def test_an_unknown_reference_is_kept_for_a_person_to_check():
    admission = domain.admit_request(None, has_open_request=False)
    assert admission.status == RequestStatus.UNMATCHED and not admission.stands


def test_an_active_contract_gets_its_notice():
    assert domain.admit_request("active", has_open_request=False).stands
    assert domain.admit_request("won_back", has_open_request=False).stands


def test_an_ended_contract_cannot_become_active_again_without_a_win_back():
    with pytest.raises(Conflict):
        domain.check_transition("ended", "active")
    domain.check_transition("ended", "won_back")


@pytest.mark.parametrize(
    "given", ["Jean Dupont", "DUPONT Jean", "m. jean dupont", "Dupont", "Jean  DUPONT "]
)
def test_name_matches_the_holder_whatever_the_case_and_accents(given):
    assert domain.name_matches(given, "Jean", "Dupont")


def test_another_name_does_not_match():
    assert not domain.name_matches("Marie Martin", "Jean", "Dupont")
    assert domain.name_matches("Zoe Lefevre", "Zoé", "Lefèvre")


def test_references_and_lines_are_read_as_people_type_them():
    assert domain.normalise_reference(" ab-12 34.x ") == "AB1234X"
    assert domain.normalise_line("+33 6 12 34 56 78") == "0612345678"


def test_unknown_reason_is_refused_by_field():
    with pytest.raises(InvalidInput) as refused:
        domain.check_reason("weather")
    assert refused.value.field == "reason"
    assert domain.check_reason("") is None


def test_reasons_are_named_in_both_languages():
    for code in domain.REASONS:
        assert domain.reason_label(code, "fr") and domain.reason_label(code, "en")
    assert domain.reason_label("outage", "fr") == "Panne"
    assert domain.reason_label("outage", "en") == "Outage"
    # "Other" is translated in its own context, whatever another feature makes of it.
    assert domain.reason_label("other", "fr") == "Autre"
    for code in domain.LEGITIMATE_REASONS:
        assert domain.reason_label(code, "fr") != domain.reason_label(code, "en")
    assert domain.reason_label("death", "fr") == "Décès du titulaire"
    assert domain.reason_label("death", "de") == "Death of the holder"
    assert domain.reason_label("weather", "fr") == "weather"


def _standing(**overrides) -> Standing:
    values = dict(
        clv_12m_cents=90_000,
        churn_risk=0.6,
        tenure_years=3.0,
        monthly_price_cents=4000,
        reason="price",
    )
    values.update(overrides)
    return Standing(**values)


def test_low_value_and_no_risk_is_thanked_not_chased():
    offer = domain.retention_offer(_standing(clv_12m_cents=5000, churn_risk=0.1))
    assert offer.kind == "thanks" and not offer.chases and offer.amount_cents == 0
    assert "Thank" in offer.explanation["en"] and "Remercier" in offer.explanation["fr"]


def test_no_longer_needed_is_never_chased():
    assert not domain.retention_offer(_standing(reason="no_longer_needed")).chases


def test_price_reason_gets_a_discount():
    offer = domain.retention_offer(_standing(reason="price"))
    assert offer.kind == "discount" and offer.gesture_kind == "credit"
    assert "discount" in offer.explanation["en"] and "remise" in offer.explanation["fr"]


def test_retention_explanation_states_its_facts_the_reader_s_way_in_both_languages():
    offer = domain.retention_offer(
        _standing(clv_12m_cents=100_000, churn_risk=0.42, tenure_years=1, reason="outage")
    )
    amount_fr, amount_en = (format_money(offer.amount_cents, lang) for lang in ("fr", "en"))
    assert offer.explanation["fr"] == (
        f"Un avoir de {amount_fr} sur la prochaine facture et une intervention programmée"
        " (valeur élevée, client depuis 1 an, risque de départ 42\u00a0%)."
    )
    assert offer.explanation["en"] == (
        f"A credit of {amount_en} on the next bill and a fix booked with a technician"
        " (high value, 1 year a customer, churn risk 42%)."
    )
    later = domain.retention_offer(_standing(tenure_years=2.5, churn_risk=None, reason="moving"))
    assert "client depuis 2,5 ans)" in later.explanation["fr"]
    assert "2.5 years a customer)" in later.explanation["en"]


def test_outage_reason_gets_a_credit_and_a_fix():
    offer = domain.retention_offer(_standing(reason="outage"))
    assert offer.kind == "credit_and_fix" and "technician" in offer.explanation["en"]


def test_moving_reason_gets_a_transfer_at_no_cost():
    offer = domain.retention_offer(_standing(reason="moving"))
    assert offer.kind == "transfer" and offer.amount_cents == 0


def test_retention_offer_is_proportionate_to_value_and_tenure():
    high = domain.retention_offer(_standing(clv_12m_cents=90_000, tenure_years=3))
    medium = domain.retention_offer(_standing(clv_12m_cents=20_000, tenure_years=3))
    loyal = domain.retention_offer(_standing(clv_12m_cents=90_000, tenure_years=5))
    assert high.amount_cents > medium.amount_cents > 0
    assert loyal.amount_cents > high.amount_cents
    assert high.amount_cents == (2 * 4000 * 130 + 50) // 100


def test_without_a_score_a_year_of_fees_stands_for_value():
    assert domain.value_band(_standing(clv_12m_cents=None, monthly_price_cents=6000)) == "high"
    assert domain.value_band(_standing(clv_12m_cents=None, monthly_price_cents=500)) == "low"


def test_win_back_only_for_customers_worth_it():
    assert domain.worth_winback("discount", "price")
    assert not domain.worth_winback("thanks", "price")
    assert not domain.worth_winback("discount", "no_longer_needed")
    assert domain.winback_due(date(2027, 1, 2), 60) == date(2027, 3, 3)


def test_win_back_by_email_only_with_consent():
    assert domain.winback_channel(email_consent=True, has_email=True) == "email"
    assert domain.winback_channel(email_consent=False, has_email=True) == "call"
    assert domain.winback_channel(email_consent=True, has_email=False) == "call"


def test_save_rate_counts_only_decided_requests():
    assert domain.save_rate([]) is None
    assert domain.save_rate(["cancelled", "stayed_with_offer", "stayed_without", None]) == 2 / 3


def _facts(lang: str, **overrides) -> ack.AckFacts:
    values = dict(
        language=lang,
        company_name="Égards Télécom",
        number="RES-00C0FFEE",
        customer_name="Jean Dupont",
        channel="web",
        received_at=datetime(2026, 12, 3, 20, 0, tzinfo=UTC),
        reference="FX123456",
        offer="Fibre Max",
        line_numbers=("0612345678",),
        end_date=date(2027, 1, 2),
        desired_end=date(2026, 12, 10),
        moved_to_earliest=True,
        fee_cents=0,
        fee_waived=False,
        legitimate_reason=None,
        equipment="Box fibre and TV decoder",
        last_bill_cents=3999,
        reason="price",
        loyalty_tier="Gold",
        loyalty_points=1200,
    )
    values.update(overrides)
    return ack.AckFacts(**values)


def test_acknowledgement_states_receipt_end_date_and_effects_in_french():
    body = ack.text(_facts("fr"))
    assert "RES-00C0FFEE" in body and "2 janvier 2027" in body
    assert "Vous aviez demandé le 10 décembre 2026" in body
    assert "Matériel à restituer" in body and "Dernière facture" in body
    assert "vos 1\u202f200 points restent utilisables" in body and "Gold" in body
    assert "Motif indiqué : Prix" in body
    assert "reçue le 3 décembre 2026 à 21:00 (notre site)" in body  # Paris time, not UTC
    assert body.endswith("Bien cordialement,\nLe service client, Égards Télécom")
    assert ack.subject(_facts("fr")).startswith("Accusé de réception de votre demande")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"already_ended": True},
        {"duplicate_of": "RES-00000001"},
        {"fee_cents": 12_000},
        {"fee_waived": True, "legitimate_reason": "job_loss"},
        {"loyalty_points": 1},
    ],
)
def test_every_sentence_of_the_french_acknowledgement_is_french(overrides):
    french = ack.text(_facts("fr", **overrides))
    english = ack.text(_facts("en", **overrides))
    # Every paragraph differs from its English version: none fell back to the msgid.
    for fr_paragraph, en_paragraph in zip(french.split("\n\n"), english.split("\n\n"), strict=True):
        assert fr_paragraph != en_paragraph


def test_acknowledgement_states_the_same_facts_in_both_languages():
    french = ack.text(_facts("fr", fee_cents=12_000, loyalty_points=8_000))
    english = ack.text(_facts("en", fee_cents=12_000, loyalty_points=8_000))
    for fact in ("FX123456", "RES-00C0FFEE", "0612345678", "Fibre Max", "Box fibre", "30"):
        assert fact in french and fact in english
    assert "120\u00a0€" in french and "€120" in english
    assert "159,99\u00a0€" in french and "€159.99" in english  # last bill with the fee
    assert "8\u202f000 points" in french and "8,000 points" in english


def test_acknowledgement_names_a_single_point_in_the_singular():
    assert "votre 1 point reste utilisable" in ack.text(_facts("fr", loyalty_points=1))
    assert "your 1 point stays yours" in ack.text(_facts("en", loyalty_points=1))


def test_acknowledgement_states_receipt_end_date_and_effects_in_english():
    body = ack.text(_facts("en", fee_cents=12_000))
    assert "2 January 2027" in body and "Equipment to return" in body
    assert "early-termination fee of €120" in body
    assert "received on 3 December 2026 at 21:00 (our website)" in body
    assert "your 1,200 points stay yours" in body


def test_acknowledgement_pdf_is_a_pdf_and_reproducible():
    first = ack.render_pdf(_facts("fr"))
    assert first.startswith(b"%PDF") and first == ack.render_pdf(_facts("fr"))


@pytest.mark.parametrize(
    "text",
    [
        "Demande de résiliation",
        "Je souhaite resilier mon abonnement",
        "Please cancel my subscription",
        "I want to terminate my contract",
    ],
)
def test_a_message_asking_to_end_a_contract_is_recognised(text):
    assert domain.looks_like_cancellation(text)


def test_a_message_about_something_else_is_not_a_cancellation():
    assert not domain.looks_like_cancellation("My flight was cancelled, where is my bag?")


def test_a_subscriber_who_gave_notice_on_every_contract_is_leaving():
    observed = domain.observed_churn([("notice_given", date(2026, 12, 13))])
    assert observed == domain.ObservedChurn(0.9, "cancelling:2026-12-13")


def test_notice_on_one_contract_of_two_is_a_risk_not_a_departure():
    observed = domain.observed_churn(
        [("notice_given", date(2027, 1, 2)), ("active", None), ("notice_given", date(2026, 12, 20))]
    )
    assert observed == domain.ObservedChurn(0.6, "cancelling:2026-12-20")


def test_a_subscriber_whose_contracts_all_ended_has_left():
    observed = domain.observed_churn([("ended", date(2026, 3, 1)), ("ended", date(2026, 9, 30))])
    assert observed == domain.ObservedChurn(1.0, "cancelled:2026-09-30")


@pytest.mark.parametrize(
    "contracts",
    [[], [("active", None)], [("ended", date(2026, 3, 1)), ("won_back", None)]],
)
def test_running_contracts_show_no_churn_whatever_the_purchases(contracts):
    assert domain.observed_churn(contracts) is None


def _decided(kind, stayed, *, day=1, reason="price", band="low"):
    return domain.Decided(kind, reason, band, date(2026, 3, day), stayed)


def test_save_rate_is_compared_with_up_to_five_similar_requests_given_nothing():
    offered = [_decided("discount", True, day=10), _decided("discount", False, day=12)]
    nothing = [_decided("thanks", stayed, day=d) for d, stayed in enumerate([1, 0, 0, 0, 1, 1], 1)]
    other_reason = [_decided(None, True, day=11, reason="moving")]
    other_band = [_decided(None, True, day=11, band="high")]
    discount, total = domain.compare_saves(offered + nothing + other_reason + other_band)
    assert total.kind == "all" and discount.kind == "discount"
    assert discount.decided == discount.matched == 2 and discount.saved == 0.5
    # The five nearest in time are days 2 to 6 (days 5 and 6 stayed): 2 / 5; day 1, which
    # stayed too, is the sixth and left out.
    assert discount.control == 0.4


def test_a_request_without_a_similar_one_given_nothing_is_counted_not_compared():
    [row, _] = domain.compare_saves([_decided("credit_and_fix", True, reason="outage")])
    assert row.decided == 1 and row.matched == 0 and row.saved is None and row.control is None


def test_a_letter_asking_to_cancel_names_its_contract_line_and_reason():
    found = domain.recognise_cancellation(
        "Madame, Monsieur, je déménage et vous demande de résilier mon contrat FX-SEED-003"
        " (ligne 01 43 55 20 03)."
    )
    assert found == domain.Recognised(("FXSEED003",), ("0143552003",), "moving")


def test_an_english_email_with_a_spaced_reference_is_recognised():
    found = domain.recognise_cancellation("Please cancel my subscription FX 100200, too expensive")
    assert found is not None and "FX100200" in found.references and found.reason == "price"


@pytest.mark.parametrize(
    "text",
    [
        "Je ne veux pas résilier, je voudrais juste changer d'offre.",
        "I don't want to cancel my subscription, only to pause it.",
        "Ma box ne marche plus depuis hier.",
    ],
)
def test_a_message_that_does_not_ask_to_cancel_is_not_recognised(text):
    assert domain.recognise_cancellation(text) is None


def test_the_named_contract_is_one_reference_or_a_line_only_one_contract_has():
    contracts = [("FX-1001", ["01 44 55 66 77"]), ("FX-1002", ["01 44 55 66 77", "06 12 34 56 78"])]
    by_reference = domain.Recognised(("FX1002",), (), None)
    by_own_line = domain.Recognised((), ("0612345678",), None)
    by_shared_line = domain.Recognised((), ("0144556677",), None)
    assert domain.named_contract(by_reference, contracts) == "FX-1002"
    assert domain.named_contract(by_own_line, contracts) == "FX-1002"
    assert domain.named_contract(by_shared_line, contracts) is None  # a person decides
    assert domain.named_contract(domain.Recognised((), (), None), contracts) is None


def test_a_suspension_moves_the_commitment_by_its_length():
    plan = domain.plan_suspension(
        status="active",
        starts_on=date(2026, 12, 3),
        resumes_on=date(2027, 1, 2),
        commitment_end=date(2027, 6, 1),
    )
    assert plan.days == 30 and plan.commitment_end == date(2027, 7, 1)


@pytest.mark.parametrize("days", [6, 184])
def test_a_suspension_lasts_a_week_to_six_months(days):
    with pytest.raises(InvalidInput) as refused:
        domain.plan_suspension(
            status="active",
            starts_on=date(2026, 12, 3),
            resumes_on=date(2026, 12, 3) + timedelta(days=days),
            commitment_end=None,
        )
    assert refused.value.field == "resumes_on"


@pytest.mark.parametrize("status", ["notice_given", "ended", "suspended"])
def test_only_a_running_contract_can_be_suspended(status):
    with pytest.raises(Conflict):
        domain.plan_suspension(
            status=status,
            starts_on=date(2026, 12, 3),
            resumes_on=date(2027, 1, 2),
            commitment_end=None,
        )


def test_a_suspended_contract_may_be_cancelled_or_resumed():
    for target in ("notice_given", "active", "ended"):
        domain.check_transition("suspended", target)
    with pytest.raises(Conflict):
        domain.check_transition("notice_given", "suspended")


def test_the_public_offer_before_leaving_reads_in_the_customer_s_language():
    from egards.subscriptions.service.matching import _public_offer

    offer = domain.retention_offer(_standing(reason="price"))
    french = _public_offer(offer, "fr")
    assert french.startswith("Avant de partir : en tant que client fidèle")
    assert format_money(offer.amount_cents, "fr") in french
    assert _public_offer(offer, "en").startswith("Before you go: as a loyal customer")
