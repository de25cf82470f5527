"""Ready texts for the public information an operator publishes most during a long blackout.

Invariant: every template has a Dutch text (a bulletin needs one) and an English one, with the
same fill-in places in square brackets (``[gebied]`` / ``[area]``). The information desk
(``/console/desk``) refuses to publish while a bracket is left, so a half-filled template never
reaches a board. The wording follows the public-information practice of the safety regions:
what is the case, what you should do, where to go.
"""

from __future__ import annotations

from typing import TypedDict


class TemplateText(TypedDict):
    headline: str
    text: str
    instruction: str
    area: str


class Template(TypedDict):
    key: str
    urgency: str
    nl: TemplateText
    en: TemplateText


TEMPLATES: list[Template] = [
    {
        "key": "water",
        "urgency": "P2",
        "nl": {
            "headline": "Kookadvies: kook uw kraanwater",
            "text": "Door de stroomstoring is de kwaliteit van het kraanwater in [gebied] niet "
            "zeker. Het water is nog wel te gebruiken om te wassen en het toilet door te "
            "spoelen.",
            "instruction": "Kook water minstens 1 minuut voordat u het drinkt of er eten mee "
            "maakt.\nGeef zuigelingen flessenwater.\nDrinkwater halen kan bij [adres].",
            "area": "[gebied]",
        },
        "en": {
            "headline": "Boil water advice: boil your tap water",
            "text": "Because of the power cut the quality of tap water in [area] is not "
            "certain. You can still use it for washing and flushing the toilet.",
            "instruction": "Boil water for at least 1 minute before drinking it or cooking with "
            "it.\nGive babies bottled water.\nDrinking water is available at [address].",
            "area": "[area]",
        },
    },
    {
        "key": "power",
        "urgency": "P3",
        "nl": {
            "headline": "Stroomstoring: stand van zaken",
            "text": "In [gebied] is nog steeds geen stroom. De netbeheerder verwacht niet dat "
            "de stroom voor [tijdstip] terug is.",
            "instruction": "Zet apparaten uit, zodat ze niet tegelijk aanslaan als de stroom "
            "terugkomt.\nGebruik geen aggregaat, barbecue of kachel binnen: "
            "koolmonoxidegevaar.\nBel 112 niet voor informatie; kom naar het noodsteunpunt.",
            "area": "[gebied]",
        },
        "en": {
            "headline": "Power cut: current situation",
            "text": "There is still no power in [area]. The grid operator does not expect power "
            "to return before [time].",
            "instruction": "Switch appliances off so they do not all start at once when power "
            "returns.\nDo not use a generator, barbecue or heater indoors: carbon monoxide "
            "danger.\nDo not call 112 for information; come to the emergency support point.",
            "area": "[area]",
        },
    },
    {
        "key": "shelter",
        "urgency": "P3",
        "nl": {
            "headline": "Opvang en warmte",
            "text": "Hebt u het thuis te koud, of kunt u niet voor uzelf zorgen zonder stroom? "
            "In [locatie] is opvang met verwarming, warme dranken en een plek om te slapen.",
            "instruction": "Neem uw medicijnen, een deken en uw identiteitsbewijs mee.\n"
            "Kent u iemand die hulp nodig heeft om er te komen? Meld het bij dit "
            "noodsteunpunt.",
            "area": "[gebied]",
        },
        "en": {
            "headline": "Shelter and warmth",
            "text": "Is it too cold at home, or can you not look after yourself without power? "
            "[location] offers shelter with heating, hot drinks and a place to sleep.",
            "instruction": "Bring your medicines, a blanket and your ID.\nDo you know someone "
            "who needs help getting there? Tell this emergency support point.",
            "area": "[area]",
        },
    },
    {
        "key": "hours",
        "urgency": "P4",
        "nl": {
            "headline": "Openingstijden noodsteunpunt",
            "text": "Dit noodsteunpunt is open van [van] tot [tot] uur. Buiten die tijden kunt u "
            "voor noodhulp terecht bij [ander noodsteunpunt].",
            "instruction": "Hier kunt u: een noodgeval melden, informatie krijgen en "
            "[voorzieningen].",
            "area": "[gebied]",
        },
        "en": {
            "headline": "Opening hours of this emergency support point",
            "text": "This emergency support point is open from [from] to [to]. Outside these "
            "hours, for emergencies go to [other support point].",
            "instruction": "Here you can: report an emergency, get information and [facilities].",
            "area": "[area]",
        },
    },
    {
        "key": "rumour",
        "urgency": "P3",
        "nl": {
            "headline": "Gerucht klopt niet: [gerucht]",
            "text": "Er gaat een bericht rond dat [gerucht]. Dat is niet waar. [wat wel waar is]",
            "instruction": "Deel alleen informatie van het noodsteunpunt of de gemeente.\n"
            "Twijfelt u? Vraag het hier.",
            "area": "[gebied]",
        },
        "en": {
            "headline": "Rumour is not true: [rumour]",
            "text": "A message is going round that [rumour]. That is not true. [what is true]",
            "instruction": "Only share information from the emergency support point or the "
            "municipality.\nIn doubt? Ask here.",
            "area": "[area]",
        },
    },
]

TEMPLATE_NAMES: dict[str, dict[str, str]] = {
    "nl": {
        "water": "Drinkwater / kookadvies",
        "power": "Stroom",
        "shelter": "Opvang en warmte",
        "hours": "Openingstijden NSP",
        "rumour": "Gerucht weerleggen",
    },
    "en": {
        "water": "Drinking water / boil advice",
        "power": "Power",
        "shelter": "Shelter and warmth",
        "hours": "NSP opening hours",
        "rumour": "Counter a rumour",
    },
}
