"""Display names of the case vocabulary (statuses, states, channels, teams...), kept apart
from the shared catalogue where bare words such as "new" mean other things elsewhere."""

from __future__ import annotations

FRENCH = {
    "acknowledgement": "accusé de réception",
    "at_risk": "à risque",
    "baggage": "bagage",
    "billing": "facturation",
    "breached": "hors délai",
    "cancellation": "résiliation",
    "cancellations": "résiliations",
    "closed": "clôturée",
    "complaint": "réclamation",
    "delay": "retard",
    "duplicate_of": "doublon de",
    "email": "e-mail",
    "first_response": "première réponse",
    "follow_up_of": "suite de",
    "high": "haute",
    "inbound": "message reçu",
    "installation": "installation",
    "letter": "courrier",
    "low": "basse",
    "loyalty": "fidélité",
    "manual": "hors e-mail",
    "met": "tenu",
    "new": "nouvelle",
    "next_response": "réponse suivante",
    "none": "aucun",
    "normal": "normale",
    "not_delivered": "non remis",
    "note": "note",
    "on_track": "dans les délais",
    "open": "ouverte",
    "partner": "partenaire",
    "paused": "en pause",
    "phone": "téléphone",
    "quality": "qualité",
    "question": "question",
    "queued": "envoi en file",
    "related": "liée",
    "reply": "réponse",
    "resolution": "résolution",
    "resolved": "résolue",
    "retrying": "nouvel essai prévu",
    "sent": "envoyé",
    "shop": "boutique",
    "shown": "affiché",
    "social": "réseaux sociaux",
    "supervisors": "superviseurs",
    "support": "service client",
    "system": "système",
    "urgent": "urgente",
    "waiting_on_customer": "en attente du client",
    "waiting_on_partner": "en attente du partenaire",
    "web_form": "formulaire web",
}


def case_label(value: object, locale: str = "en") -> str:
    """``waiting_on_customer`` → "waiting on customer" / "en attente du client"."""
    text = "" if value is None else str(getattr(value, "value", value))
    if locale == "fr" and text in FRENCH:
        return FRENCH[text]
    return text.replace("_", " ")
