"""A generated set of customers and social profiles with a known truth, for the linking
benchmark, the tests and the demo: profiles derived from customers with the variations seen
in practice (typos, nicknames, handles from names, e-mails and birth years, lower case,
missing last names) and strangers, some of them homonyms of customers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIRST = ("Jean", "Marie", "Pierre", "Sophie", "Nicolas", "Isabelle", "Julien", "Caroline",
         "Thomas", "Camille", "Antoine", "Claire", "Maxime", "Léa", "Alexandre", "Chloé",
         "Sébastien", "Émilie", "Frédéric", "Valérie", "Benjamin", "Florence", "Christophe",
         "Hélène", "Matthieu", "Inès", "Grégoire", "Manon", "Emmanuel", "Zoé", "Hugo", "Lucie",
         "Louis", "Sarah", "Paul", "Alice", "Yanis", "Anaïs", "Karim", "Nadia")  # fmt: skip
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
        "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre",
        "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
        "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
        "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine",
        "Chevalier", "Robin", "Masson", "Sanchez", "Boyer", "Denis", "Lemaire", "Duval",
        "Joly", "Gautier", "Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier",
        "Jean", "Pérez", "Marchand", "Dufour", "Blanchard", "Marie", "Barbier", "Brun",
        "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre", "Renard",
        "Arnaud", "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois",
        "Renaud", "Lemoine", "Picard", "Gaillard", "Philippe", "Leclercq", "Lacroix", "Fabre",
        "Dupuis", "Olivier", "Rodriguez")  # fmt: skip
CITIES = ("Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg",
          "Montpellier", "Bordeaux", "Lille", "Rennes", "Reims", "Toulon", "Grenoble",
          "Dijon", "Angers", "Nîmes", "Brest", "Tours", "Limoges")  # fmt: skip
SHORT = {"Jean-Baptiste": "JB", "Alexandre": "Alex", "Maxime": "Max", "Frédéric": "Fred",
         "Sébastien": "Seb", "Nicolas": "Nico", "Emmanuel": "Manu", "Florence": "Flo",
         "Valérie": "Val", "Christophe": "Chris", "Thomas": "Tom", "Benjamin": "Ben",
         "Caroline": "Caro", "Isabelle": "Isa", "Matthieu": "Matt"}  # fmt: skip
NETWORKS = ("x", "instagram", "facebook", "linkedin", "tiktok")
# Surnames are far more varied than first names (about 1.3 million in France): beyond the
# common ones, names are built from syllables so that homonyms are as rare as in life.
_ONSETS = ("Ker", "Le", "Mar", "Bou", "Char", "Du", "La", "Ro", "Ber", "Gi", "Fon", "Mo",
           "Pel", "Cou", "Tes", "Vi", "Bar", "Sa", "Gau", "Ha")  # fmt: skip
_MIDDLES = ("bra", "ri", "van", "del", "chon", "mi", "tel", "nar", "ge", "lo", "quin", "bi",
            "sse", "ron", "ta", "ver")  # fmt: skip
_ENDS = ("t", "ec", "in", "ier", "and", "eau", "ot", "y", "on", "ez", "ard", "el")


@dataclass(frozen=True)
class SocialSet:
    customers: list[dict]
    profiles: list[dict]
    truth: dict[str, str]
    """Profile id to the customer id it belongs to (strangers are absent)."""


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.7:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def customers(n: int, *, seed: int = 7, start: int = 1) -> list[dict]:
    rng = random.Random(seed)
    found = []
    for number in range(start, start + n):
        first = rng.choice(FIRST)
        if rng.random() < 0.3:
            last = rng.choice(LAST)
        else:
            last = rng.choice(_ONSETS) + rng.choice(_MIDDLES) + rng.choice(_ENDS)
        if rng.random() < 0.1:
            last = f"{last}-{rng.choice(LAST)}"
        year = rng.randint(1950, 2004)
        local = rng.choice(
            (f"{first}.{last}", f"{first[0]}{last}", f"{first}{year % 100:02d}", f"{last}.{first}")
        )
        found.append(
            {
                "id": number,
                "first_name": first,
                "last_name": last,
                "email": f"{_ascii(local).replace(' ', '')}{number}@example.fr",
                "city": rng.choice(CITIES),
                "preferred_language": "fr" if rng.random() < 0.85 else "en",
                "phone": f"+336{rng.randint(10_000_000, 99_999_999)}",
                "birth_date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            }
        )
    return found


def _profile_of(rng: random.Random, customer: dict, pid: int) -> dict:
    first, last = customer["first_name"], customer["last_name"]
    shown_first = SHORT.get(first, first) if rng.random() < 0.2 else first
    shown_last = _typo(rng, last) if rng.random() < 0.15 else last
    display = rng.choice(
        (
            f"{shown_first} {shown_last}",
            f"{shown_first} {shown_last[0]}.",
            f"{shown_first} {shown_last}".lower(),
        )
    )
    year = customer["birth_date"][:4]
    handle = rng.choice(
        (
            f"{shown_first}_{last}",
            f"{first[0]}{last}{year}",
            f"{shown_first}{last[:3]}",
            customer["email"].split("@")[0].rstrip("0123456789"),
            f"{last}.{first}",
        )
    )
    return {
        "id": pid,
        "network": rng.choice(NETWORKS),
        "handle": _ascii(handle).replace(" ", "").replace("-", ""),
        "display_name": display,
        "location": customer["city"] if rng.random() < 0.6 else None,
        "language": customer["preferred_language"] if rng.random() < 0.7 else None,
        "phone": customer["phone"] if rng.random() < 0.05 else None,
        "followers": int(rng.lognormvariate(5, 1.8)),
    }


def social_set(
    n_customers: int,
    n_profiles: int,
    *,
    linked_share: float = 0.6,
    seed: int = 11,
    adversarial: bool = False,
) -> SocialSet:
    """``n_profiles`` profiles, ``linked_share`` of them derived from a customer, the rest
    strangers (a third of those with a customer's first and last name: homonyms). The
    homonyms bear common names, as namesakes do in life (the syllable-built surnames stand
    for the rare ones, borne by a few people); ``adversarial``: namesakes of any customer,
    rare names included (a stranger with the very name of "Zoé Havanard" for one customer
    in thirty), the earlier, harder variant."""
    rng = random.Random(seed)
    people = customers(n_customers, seed=seed + 1)
    common = set(LAST)
    namesakes = people if adversarial else [p for p in people if p["last_name"] in common] or people
    profiles, truth = [], {}
    owners = rng.sample(people, min(int(n_profiles * linked_share), len(people)))
    for owner in owners:
        profile = _profile_of(rng, owner, len(profiles) + 1)
        profiles.append(profile)
        truth[str(profile["id"])] = str(owner["id"])
    while len(profiles) < n_profiles:
        if rng.random() < 0.33:
            twin = rng.choice(namesakes)
            stranger = {
                **twin,
                "city": rng.choice(CITIES),
                "birth_date": f"{rng.randint(1950, 2004)}-01-01",
                "email": f"x{len(profiles)}@example.net",
                "phone": f"+337{rng.randint(10_000_000, 99_999_999)}",
            }
        else:
            stranger = customers(1, seed=rng.randint(0, 10**9), start=0)[0]
        profiles.append(_profile_of(rng, stranger, len(profiles) + 1))
    return SocialSet(people, profiles, truth)


YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Activity:
    """Posts and contacts over a year beside a ``SocialSet``."""

    posts: dict[str, list[datetime]]
    """Profile id to the times of its posts (mentions)."""
    contacts: dict[str, list[datetime]]
    """Customer id to the times of their contacts with the company (other channels)."""
    owner_contacts: int
    """How many contacts were drawn for true owners before one of their posts (the rest are
    the background)."""


def activity(
    data: SocialSet,
    *,
    owner_rate: float,
    contacts_per_year: float,
    window_hours: float = 48.0,
    max_posts: int = 3,
    seed: int = 13,
) -> Activity:
    """Activity over the year ``YEAR_START`` for ``data``, drawn with a generator of its own
    (``data`` is not changed, and the same arguments give the same activity):

    - every customer contacts the company at random moments of the year, as a Poisson process
      of ``contacts_per_year`` (the background, the same for owners and namesakes);
    - every profile posts 1 to ``max_posts`` times at random moments;
    - a profile's true owner, with probability ``owner_rate`` (r), also contacted the company
      within ``window_hours`` before one of its posts (drawn uniformly in the window): the
      complaint tweeted after the e-mail. Strangers and namesakes have the background only.
    """
    rng = random.Random(seed)
    year = timedelta(days=365)
    contacts: dict[str, list[datetime]] = {}
    for customer in data.customers:
        moments = []
        at = rng.expovariate(contacts_per_year) if contacts_per_year > 0 else 2.0
        while at < 1.0:
            moments.append(YEAR_START + year * at)
            at += rng.expovariate(contacts_per_year)
        if moments:
            contacts[str(customer["id"])] = moments
    posts: dict[str, list[datetime]] = {}
    owners = 0
    window = timedelta(hours=window_hours)
    for profile in data.profiles:
        key = str(profile["id"])
        times = sorted(YEAR_START + year * rng.random() for _ in range(rng.randint(1, max_posts)))
        posts[key] = times
        drawn = rng.random()  # drawn for every profile, so that r changes no other draw
        before = rng.random()
        chosen = rng.choice(times)
        owner = data.truth.get(key)
        if owner is not None and drawn < owner_rate:
            contacts.setdefault(owner, []).append(chosen - window * before)
            owners += 1
    return Activity(posts, contacts, owners)
