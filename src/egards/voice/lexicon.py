"""Word lists behind the text analysis: language stop words, sentiment cues, topic cues and
the high-precision phrases of a churn threat, in French and English.

Everything here works on text folded by :func:`fold` (lower case, accents removed, apostrophes
straightened), so that « résilier », « resilier » and « RÉSILIER » are one word. The lists are
explainable features beside the learned model: an analyst can read why a message scored as it
did, and the churn phrases alone decide a threat with high precision.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def fold(text: str) -> str:
    """Lower case, accents removed, typographic apostrophes straightened."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(folded: str) -> list[str]:
    return WORD.findall(folded.replace("'", " "))


# Frequent function words per language: the language is the one whose words a message uses
# most. Languages other than French and English are recognised only to be labelled "other".
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: dict[str, frozenset[str]] = {
    "fr": _words(
        "le la les un une des du de et est pas que qui pour dans sur avec mon ma mes ce cette "
        "je j il elle nous vous on ne n plus au aux depuis mais ou c ca tout toujours encore "
        "suis ai avez votre vos chez fait etre sans moi m me d l qu s y a deja rien jamais "
        "aucun aucune alors donc quand comme tres bien apres avant personne merci bonjour"
    ),
    "en": _words(
        "the a an and is are was were not that which who for in on with my me this these i it "
        "we you your they he she of to at from but or still never no any all so when as very "
        "have has had been be do does did don t s m ve ll re can could would will just thanks "
        "hi hello there what where how why our their them up out"
    ),
    "es": _words(
        "el los las una por para con mi mis nadie ninguna ningun y que es esta hace sigue "
        "muchas gracias llego llevo volvere ustedes hola cuanto tiempo tardan vuelo maleta"
    ),
    "de": _words(
        "der die das und ist nicht ich mein meine wurde ohne sie mir ein eine zu mit seit "
        "kein keine bitte habe auf steht nie dreimal niemand konnte sehr zur zum gehe kann "
        "wenn wir"
    ),
    "it": _words(
        "il lo gli della delle per con mio mia sono non che ho ha da tre giorni volo grazie "
        "molto gentile dove posso buongiorno ultimi andare avanti cosi"
    ),
    "pt": _words(
        "o os um uma com meu minha nao que foi sem as minhas milhas nunca foram posso mudar "
        "data ola proxima semana chegou embora nada"
    ),
    "nl": _words(
        "de het een en is niet mijn met aan zou nu nog steeds niets bedankt voor snelle hulp "
        "heel vriendelijk eraf koffer pakket komen"
    ),
    "pl": _words("czy moge do po i nie jest na w z sie mam"),
}

# Sentiment cues (folded). Irony is left to the model and to the markers below.
NEGATIVE = _words(
    """inadmissible scandaleux honte honteux indigne nul nulle lamentable catastrophe
    inacceptable jamais toujours encore marre assez raz bol deçu decu decue decevant decevante
    pire horrible furieux furieuse colere enerve enervee degoute degoutee arnaque racket
    mensonge menteurs moquez moque mepris incompetent incompetents incapables perdu perdue
    cassee casse abime abimee casse retard annule annulation panne coupure plainte reclamation
    rembourser remboursement litige mediateur sans aucun aucune personne impossible rien
    disgraceful unacceptable shameful appalling terrible awful worst useless ridiculous joke
    furious angry annoyed disappointed disappointing fed up sick tired never again still
    lost broken damaged delayed late cancelled canceled outage down refund complaint
    ombudsman nobody nothing impossible scam shakedown lying lies rude waste wasted cut off
    overcharged charged twice ruined missed stuck stranded"""
)
POSITIVE = _words(
    """merci remercier remercie remerciements bravo felicitations felicite super genial
    excellent excellente parfait parfaite impeccable top ravi ravie satisfait satisfaite
    agreable gentil gentille gentillesse adorable efficace efficaces rapide rapidite
    professionnel professionnalisme souriants recommande chapeau nickel plaisir surprise
    thank thanks thankful grateful great excellent perfect faultless lovely pleased happy
    delighted brilliant amazing wonderful kind friendly efficient quick recommend appreciated
    kudos cheers smooth superb helpful patient professionalism professional sweet"""
)
# Phrases that turn a polite word into a complaint.
IRONY = (
    "merci pour rien",
    "merci la compagnie",
    "bravo encore",
    "genial",
    "formidable",
    "super organisation",
    "top.",
    "10/10",
    "charmant",
    "vraiment au top",
    "belle transparence",
    "belle performance",
    "on reve",
    "c'est une blague",
    "thanks for nothing",
    "thanks a lot",
    "oh wonderful",
    "oh great",
    "brilliant.",
    "amazing.",
    "fantastic.",
    "lovely.",
    "helpful.",
    "great transparency",
    "impressive work",
    "loyalty rewarded",
    "la fidelite recompensee",
    "what a shock",
    "quelle surprise",
    "flawless logic",
    "logique imparable",
    "is this a joke",
    "bug or joke",
    "bug ou humour",
)
NEUTRAL = (
    "?",
    "est-ce que",
    "est-il possible",
    "pouvez-vous",
    "comment",
    "quel",
    "quelle",
    "combien",
    "can i",
    "can you",
    "could you",
    "how do i",
    "how long",
    "is it possible",
    "is there",
    "does ",
    "do i ",
    "what ",
    "when ",
    "where ",
)

# Topic cues (folded): a few words a person would name each root cause with.
TOPICS: dict[str, tuple[str, ...]] = {
    "delay": (
        "retard",
        "retarde",
        "en retard",
        "ponctualite",
        "a l'heure",
        "correspondance",
        "livraison",
        "livre",
        "livrer",
        "livreur",
        "colis",
        "commande",
        "suivi",
        "attente",
        "delay",
        "delayed",
        "late",
        "on time",
        "connection",
        "tarmac",
        "parcel",
        "courier",
        "delivery",
        "deliver",
        "tracking",
        "order",
        "shipped",
        "ship",
        "portage",
        "transfer",
    ),
    "flight_cancellation": (
        "annule",
        "annulation",
        "vol annule",
        "supprime",
        "reacheminement",
        "avoir",
        "cancelled",
        "canceled",
        "cancellation",
        "rebook",
        "rebooked",
        "voucher",
        "strike",
        "greve",
        "refund",
        "rembourse",
    ),
    "baggage": (
        "valise",
        "bagage",
        "bagages",
        "soute",
        "cabine",
        "tapis",
        "poussette",
        "sac",
        "suitcase",
        "bag",
        "bags",
        "luggage",
        "baggage",
        "carousel",
        "belt",
        "carry-on",
        "pram",
        "case",
        "checked",
        "hold",
        "wheelchair",
        "fauteuil",
        "cadenas",
        "lock",
    ),
    "lounge_status": (
        "salon",
        "statut",
        "gold",
        "silver",
        "platinum",
        "elite",
        "niveau",
        "surclassement",
        "prioritaire",
        "lounge",
        "status",
        "tier",
        "upgrade",
        "priority",
        "downgraded",
        "retrograde",
        "avantages",
        "benefits",
        "perks",
    ),
    "miles": (
        "miles",
        "mile",
        "points",
        "point",
        "credite",
        "credites",
        "credited",
        "crediter",
        "carte de fidelite",
        "carte fidelite",
        "fidelite",
        "loyalty",
        "rewards",
        "accrual",
        "expire",
        "expired",
        "releve",
        "compte",
        "account",
        "posted",
    ),
    "billing": (
        "facture",
        "factures",
        "facturation",
        "facture",
        "preleve",
        "prelevement",
        "debite",
        "frais",
        "montant",
        "rib",
        "regularisation",
        "bill",
        "billing",
        "invoice",
        "invoices",
        "charged",
        "charge",
        "direct debit",
        "overdrawn",
        "refund",
        "fee",
        "adjustment",
        "statement",
        "double",
        "twice",
    ),
    "outage": (
        "panne",
        "coupure",
        "coupe",
        "internet",
        "reseau",
        "debit",
        "connexion",
        "4g",
        "box",
        "hs",
        "down",
        "outage",
        "signal",
        "broadband",
        "offline",
        "network",
        "speed",
        "mbps",
        "incident",
        "fault",
        "crash",
        "crashes",
        "plante",
        "inaccessible",
        "fibre",
    ),
    "installation": (
        "installation",
        "installer",
        "raccordement",
        "rendez-vous",
        "rdv",
        "creneau",
        "install",
        "installed",
        "installer",
        "appointment",
        "slot",
        "connected",
        "fitters",
        "monteurs",
        "pose",
        "connection appointment",
    ),
    "technician": (
        "technicien",
        "techniciens",
        "intervention",
        "deplacement",
        "sous-traitant",
        "technician",
        "engineer",
        "engineers",
        "visit",
        "call-out",
        "subcontractor",
        "repair man",
        "repair",
        "reparer",
        "passage",
    ),
    "customer_service": (
        "service client",
        "conseiller",
        "conseillere",
        "conseillers",
        "hotline",
        "attente",
        "telephone",
        "rappel",
        "rappele",
        "serveur vocal",
        "chat",
        "reponse",
        "repondre",
        "mails",
        "courriers",
        "customer service",
        "agent",
        "agents",
        "advisor",
        "on hold",
        "call back",
        "helpline",
        "phone",
        "reply",
        "replies",
        "answer",
        "emails",
        "manager",
        "responsable",
    ),
    "price": (
        "prix",
        "tarif",
        "tarifs",
        "cher",
        "chere",
        "hausse",
        "augmentation",
        "augmente",
        "euros",
        "moitie prix",
        "price",
        "prices",
        "fare",
        "fares",
        "expensive",
        "cheaper",
        "cheap",
        "increase",
        "went up",
        "rise",
        "price match",
        "offre",
        "offer",
        "promo",
        "discount",
        "reduit",
    ),
    "contract_cancellation": (
        "resilier",
        "resiliation",
        "resilie",
        "contrat",
        "abonnement",
        "engagement",
        "mettre fin",
        "clore",
        "cloturer",
        "cloture",
        "portabilite",
        "renouvel",
        "adhesion",
        "cancel my",
        "contract",
        "subscription",
        "terminate",
        "termination",
        "end my",
        "close my",
        "renewing",
        "renew",
        "membership",
        "minimum term",
        "pac code",
        "port",
    ),
    "praise": (
        "merci",
        "bravo",
        "remercier",
        "felicit",
        "top",
        "super",
        "impeccable",
        "ravi",
        "thank",
        "thanks",
        "well done",
        "great",
        "kudos",
        "lovely",
        "faultless",
        "recommend",
    ),
}

# Churn threats: explicit intent to leave or to stop. Each pattern is specific enough to
# decide alone; negations ("je ne compte pas partir", "I don't want to leave") are checked
# first and cancel a match.
CHURN_PATTERNS: tuple[str, ...] = (
    # French
    r"\bne serai (?:plus|pas) (?:un |une )?client",
    r"\bne suis plus client",
    r"\bplus (?:jamais )?client(?:e)? chez vous",
    r"\bresili(?:er|e|erai|e)\b",
    r"\bvais resilier\b",
    r"\bchange(?:r|rai)? d'operateur",
    r"\bchez (?:un autre|l'autre|un) (?:operateur|fournisseur)",
    r"\b(?:vers|chez|a) la concurrence",
    r"\bpasse(?:r)? (?:a|chez) la concurrence",
    r"\b(?:signe|passe|vais|aller|pars) chez (?:un |le )?concurrent",
    r"\bje (?:vous )?quitte\b",
    r"\bje m'en vais\b",
    r"\bje pars (?:chez|ailleurs|a la)",
    r"\b(?:vais|je) voler? chez",
    r"\bje vais (?:voir|aller) (?:ailleurs|chez)",
    r"\bje vais voir ailleurs",
    r"\bporterai ma fidelite ailleurs",
    r"\bje ne (?:volerai|reviendrai|remettrai) plus",
    r"\bne (?:volerai|reviendrai|remettrai)",
    r"\bplus jamais\b.*\b(?:client|avion|vol|compagnie)",
    r"\bc'est (?:fini|termine)\b",
    r"\badieu\b",
    r"\bvous m'avez perdu",
    r"\bj'arrete les frais",
    r"\bmettre (?:un terme|fin) a mon (?:contrat|abonnement)",
    r"\bmettre un terme\b",
    r"\bmettez fin\b",
    r"\bje clotur",
    r"\bclotur(?:er|ez) mon compte",
    r"\bne renouvellerai pas",
    r"\bne reconduis pas",
    r"\bannul(?:er|ez) mon (?:abonnement|adhesion|contrat)",
    r"\bj'annule (?:mon abonnement|tout)",
    r"\barreter ma ligne",
    r"\bportabilite\b",
    r"\b(?:voler|commander|acheter|aller|partir|regarde\w*|cherche\w*|porter\w*|voir|voyager)\b[^.?!]{0,40}\bailleurs\b",
    r"\barret(?:e|er|erai) (?:de \w+ )?(?:avec|chez) vous",
    r"\bplus (?:jamais )?(?:chez|avec) vous\b",
    r"\bprochaine?s? \w+ (?:ne sera|ne seront) pas (?:chez|avec) vous",
    r"\bretir(?:e|er|erai) mes (?:vols|achats|voyages|commandes|comptes)",
    r"\bmatching de statut",
    r"\b(?:fly|order|shop|buy|go|take \w+|travel) (?:elsewhere|somewhere else)",
    r"\bstop (?:flying|ordering|shopping|buying) (?:with|from|at) you",
    r"\bmy next \w+ (?:won't|will not) be (?:with|from) you",
    r"\b(?:won't|will not) be (?:with|staying with) you",
    r"\b(?:ordered|got|bought) a (?:sim|contract|plan) (?:from|with)\b",
    r"\bstatus match|\bmatch my (?:tier|status)",
    r"\bremov\w* my (?:flights|business|custom)",
    r"\b(?:offres?) (?:de la concurrence|du concurrent)",
    r"\bchez un concurrent",
    r"\bun autre (?:operateur|fournisseur)",
    r"\bque de rester chez vous",
    r"\bporte(?:r)? mon numero",
    r"\bje signe chez",
    r"\bje commanderai (?:sur|chez|ailleurs)",
    r"\bmes valises sont faites",
    r"\bje prends le train",
    r"\bsauter le pas",
    r"\bne restera pas chez vous",
    # English
    r"\b(?:won't|will not|no longer) be (?:a )?customer",
    r"\bno longer a customer",
    r"\bi'm (?:leaving|off)\b",
    r"\bcancel(?:ling|ing)? (?:my|everything|the)\b",
    r"\bcancel my\b",
    r"\bswitch(?:ing)? to\b",
    r"\bmoving to (?:another|o2|ee|vodafone|sky|a competitor)",
    r"\bgoing (?:to|with) (?:another|a competitor|vodafone|sky|the provider)",
    r"\b(?:to|with|for) another (?:provider|network|carrier|airline|supplier|programme)\b",
    r"\b(?:to|with) a competitor\b",
    r"\bnew (?:network|supplier|provider)\b",
    r"\btake (?:my|our) (?:business|loyalty|flights|miles)",
    r"\btaking my (?:business|loyalty|miles)",
    r"\bbook(?:ing)? with (?:someone|another)",
    r"\bnever (?:set foot|fly|flying)",
    r"\bnot coming back\b",
    r"\byou(?:'ve| have) seen the last of me",
    r"\bgoodbye\b",
    r"\bbye\b",
    r"\bdone (?:flying|waiting|with you)",
    r"\bi'm done\b",
    r"\bterminate\b",
    r"\bend my (?:\w+ )?(?:subscription|contract)",
    r"\bgoing with (?:whoever|a provider|another|someone)",
    r"\bthe other provider",
    r"\bthan stay with you",
    r"\bmoving our (?:\w+ )?account",
    r"\bend it all\b",
    r"\bclose (?:my|both)\b",
    r"\bclosing both",
    r"\bnot renewing\b",
    r"\bwon't be renewing\b",
    r"\bport my number",
    r"\bpac code",
    r"\bsign with them",
    r"\bmaking the jump",
    r"\bsomewhere (?:that|else)",
    r"\bi'll (?:order|buy) from",
    r"\bstop my (?:landline|line)",
    r"\bfly easyjet\b|\bfrom now on i fly\b",
    r"\bwon't be staying with you",
    r"\bshopping around\b",
    r"\blooking (?:at|for) (?:other airlines|a new network|no-contract)",
)
CHURN_NEGATIONS: tuple[str, ...] = (
    r"\bne (?:compte|veux|souhaite) pas (?:partir|resilier|vous quitter)",
    r"\bje ne veux pas partir",
    r"\b(?:nous|m'a|on nous) dit d'aller voir ailleurs",
    r"\btold (?:us|me) to (?:go|try) (?:elsewhere|somewhere else)",
    r"\bne compte pas partir",
    r"\bnot (?:planning|going|intending) to (?:leave|cancel)",
    r"\bdon't want to leave",
    r"\bi'm not planning to leave",
    r"\bj'ai resilie\b",
    r"\bapres resiliation",
    r"\bi cancelled in\b",
    r"\bafter cancelling\b",
    r"\bfrais de resiliation",
    r"\bresiliation en ligne",
    r"\btermination fee",
    r"\bcan't cancel online",
    r"\bcancel(?:led)? (?:my )?(?:flight|order|booking)",
    r"\bannul(?:e|er)? (?:mon |ma )?(?:vol|commande|reservation)",
)
CHURN_REGEX = tuple(re.compile(p) for p in CHURN_PATTERNS)
CHURN_NEGATION_REGEX = tuple(re.compile(p) for p in CHURN_NEGATIONS)
