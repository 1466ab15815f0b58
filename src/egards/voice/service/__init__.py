"""Use cases of the voice of the customer: analyse what customers write as it arrives, act on
a written churn threat, take the agents' corrections, and run CSAT surveys after a case.

Cases call :func:`inbound_message_received` and :func:`case_resolved` through
``features.hooks("service", ...)`` (cases sit below voice and do not import it); analytics
calls :func:`stated_churn_threats` after each scoring run so that a threat written last week
still holds the customer's risk up after the nightly scores are replaced.

A package of modules named for what they do: ``analysis`` (the model, messages as they
arrive, corrections), ``surveys`` (CSAT after a case), ``nps`` (the relationship NPS),
``reports`` (CSAT and root causes), ``privacy`` (the GDPR hooks). Callers import the names
below from ``egards.voice.service``.
"""

from egards.voice.service.analysis import (
    ANALYSED_CHARACTERS,
    TOPIC_LABELS,
    analyse_text,
    analyses,
    classifier,
    correct,
    corrections,
    describe_threat,
    inbound_message_received,
    labels,
    model_path,
    record_analysis,
    stated_churn_threats,
    topic_label,
    train_model,
)
from egards.voice.service.nps import last_wave_at, nps_report, send_nps_wave
from egards.voice.service.privacy import erase_customer_data, export_section
from egards.voice.service.reports import GROUPS, csat_report, root_causes, topic_messages
from egards.voice.service.surveys import (
    MAIL,
    RATING_WORDS,
    Sent,
    answer_for_customer,
    answer_survey,
    case_resolved,
    case_survey,
    customer_surveys,
    invitation_by_token,
    open_survey,
    pending_surveys,
    send_case_survey,
    send_reminders,
    survey_for_customer,
    survey_link,
    surveys,
)

__all__ = [
    "ANALYSED_CHARACTERS",
    "GROUPS",
    "MAIL",
    "RATING_WORDS",
    "TOPIC_LABELS",
    "Sent",
    "analyse_text",
    "analyses",
    "answer_for_customer",
    "answer_survey",
    "case_resolved",
    "case_survey",
    "classifier",
    "correct",
    "corrections",
    "csat_report",
    "customer_surveys",
    "describe_threat",
    "erase_customer_data",
    "export_section",
    "inbound_message_received",
    "invitation_by_token",
    "labels",
    "last_wave_at",
    "model_path",
    "nps_report",
    "open_survey",
    "pending_surveys",
    "record_analysis",
    "root_causes",
    "send_case_survey",
    "send_nps_wave",
    "send_reminders",
    "stated_churn_threats",
    "survey_for_customer",
    "survey_link",
    "surveys",
    "topic_label",
    "topic_messages",
    "train_model",
]
