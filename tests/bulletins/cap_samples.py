# ruff: noqa: E501  (CAP documents as authorities write them)
"""Real-world-shaped CAP 1.2 alerts for the import/export tests.

Modelled on what Dutch authorities send: a boil-water advice from a drinking-water company, an
NL-Alert style fire with smoke, and a regional power-outage notice. Times are filled in per
test run (``render``) so the alerts are never expired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def cap_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def times(now: datetime | None = None) -> dict[str, str]:
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    return {
        "sent": cap_time(now - timedelta(minutes=5)),
        "effective": cap_time(now - timedelta(minutes=5)),
        "onset": cap_time(now),
        "expires_6h": cap_time(now + timedelta(hours=6)),
        "expires_2d": cap_time(now + timedelta(days=2)),
        "expires_3d": cap_time(now + timedelta(days=3)),
        "past": cap_time(now - timedelta(hours=1)),
        "later": cap_time(now - timedelta(minutes=2)),
    }


def render(template: str, **extra: str) -> bytes:
    return template.format(**times(), **extra).encode()


# Boil-water advice: Dutch, English and Polish; two areas with polygons and a CBS geocode.
BOIL_WATER = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NL-BW-2026-0142</identifier>
  <sender>storingen@brabantwater.example</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>nl-NL</language>
    <category>Health</category>
    <event>Kookadvies drinkwater</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>NL-EVENT</valueName><value>DRINKWATER</value></eventCode>
    <effective>{effective}</effective>
    <expires>{expires_2d}</expires>
    <senderName>Brabant Water</senderName>
    <headline>Kookadvies voor Oss-Noord en Berghem</headline>
    <description>Door de stroomstoring is de waterdruk gedaald. Er kan vervuiling in het leidingwater zitten.</description>
    <instruction>Kook water 3 minuten voordat u het drinkt of gebruikt voor eten, flesvoeding of tandenpoetsen. Douchen mag.</instruction>
    <web>https://www.brabantwater.example/kookadvies</web>
    <contact>Noodsteunpunt of 0800-0123</contact>
    <parameter><valueName>waterbedrijf</valueName><value>Brabant Water</value></parameter>
    <area>
      <areaDesc>Oss-Noord</areaDesc>
      <polygon>51.7700,5.5100 51.7900,5.5100 51.7900,5.5400 51.7700,5.5400 51.7700,5.5100</polygon>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0828</value></geocode>
    </area>
    <area>
      <areaDesc>Berghem</areaDesc>
      <polygon>51.7650,5.5550 51.7750,5.5550 51.7750,5.5800 51.7650,5.5800 51.7650,5.5550</polygon>
    </area>
  </info>
  <info>
    <language>en-GB</language>
    <category>Health</category>
    <event>Boil water advice</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>NL-EVENT</valueName><value>DRINKWATER</value></eventCode>
    <effective>{effective}</effective>
    <expires>{expires_2d}</expires>
    <senderName>Brabant Water</senderName>
    <headline>Boil water advice for Oss-Noord and Berghem</headline>
    <description>Because of the power cut the water pressure has dropped. Tap water may be contaminated.</description>
    <instruction>Boil water for 3 minutes before drinking it or using it for food, baby formula or brushing teeth. Showering is fine.</instruction>
    <web>https://www.brabantwater.example/kookadvies</web>
    <contact>Emergency support point or 0800-0123</contact>
    <parameter><valueName>waterbedrijf</valueName><value>Brabant Water</value></parameter>
    <area>
      <areaDesc>Oss North</areaDesc>
      <polygon>51.7700,5.5100 51.7900,5.5100 51.7900,5.5400 51.7700,5.5400 51.7700,5.5100</polygon>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0828</value></geocode>
    </area>
    <area>
      <areaDesc>Berghem</areaDesc>
      <polygon>51.7650,5.5550 51.7750,5.5550 51.7750,5.5800 51.7650,5.5800 51.7650,5.5550</polygon>
    </area>
  </info>
  <info>
    <language>pl</language>
    <category>Health</category>
    <event>Zalecenie gotowania wody</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>NL-EVENT</valueName><value>DRINKWATER</value></eventCode>
    <effective>{effective}</effective>
    <expires>{expires_2d}</expires>
    <senderName>Brabant Water</senderName>
    <headline>Zalecenie gotowania wody: Oss-Noord i Berghem</headline>
    <description>Z powodu awarii prądu spadło ciśnienie wody. Woda z kranu może być zanieczyszczona.</description>
    <instruction>Gotuj wodę przez 3 minuty przed piciem lub przygotowaniem jedzenia.</instruction>
    <parameter><valueName>waterbedrijf</valueName><value>Brabant Water</value></parameter>
    <area>
      <areaDesc>Oss-Noord</areaDesc>
      <polygon>51.7700,5.5100 51.7900,5.5100 51.7900,5.5400 51.7700,5.5400 51.7700,5.5100</polygon>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0828</value></geocode>
    </area>
    <area>
      <areaDesc>Berghem</areaDesc>
      <polygon>51.7650,5.5550 51.7750,5.5550 51.7750,5.5800 51.7650,5.5800 51.7650,5.5550</polygon>
    </area>
  </info>
</alert>
"""

# NL-Alert style: a large fire with smoke; Dutch, English, German and Arabic; a circle area.
FIRE_SMOKE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>2.49.0.1.528.0.VRBN.20261123.0007</identifier>
  <sender>urn:oid:2.49.0.0.528.0.vrbn</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>Meldkamer Brabant-Noord</source>
  <scope>Public</scope>
  <code>NL-Alert</code>
  <incidents>VRBN-2026-4471</incidents>
  <info>
    <language>nl</language>
    <category>Fire</category>
    <category>Env</category>
    <event>Grote brand</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <onset>{onset}</onset>
    <expires>{expires_6h}</expires>
    <senderName>Veiligheidsregio Brabant-Noord</senderName>
    <headline>Grote brand bij industrieterrein Elzenburg: veel rook</headline>
    <description>Er is een grote brand bij een bedrijf op industrieterrein Elzenburg in Oss. De rook trekt richting Berghem.</description>
    <instruction>Ga naar binnen. Sluit ramen en deuren en zet mechanische ventilatie uit.</instruction>
    <parameter><valueName>kanaal</valueName><value>NL-Alert</value></parameter>
    <area>
      <areaDesc>Oss en Berghem, 2,5 km rond de brand</areaDesc>
      <circle>51.7712,5.5466 2.5</circle>
    </area>
  </info>
  <info>
    <language>en</language>
    <category>Fire</category>
    <category>Env</category>
    <event>Large fire</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <onset>{onset}</onset>
    <expires>{expires_6h}</expires>
    <senderName>Safety Region Brabant-Noord</senderName>
    <headline>Large fire at Elzenburg industrial estate: heavy smoke</headline>
    <description>There is a large fire at a company on the Elzenburg industrial estate in Oss. The smoke is moving towards Berghem.</description>
    <instruction>Go inside. Close windows and doors and switch off mechanical ventilation.</instruction>
    <parameter><valueName>kanaal</valueName><value>NL-Alert</value></parameter>
    <area>
      <areaDesc>Oss and Berghem, 2.5 km around the fire</areaDesc>
      <circle>51.7712,5.5466 2.5</circle>
    </area>
  </info>
  <info>
    <language>de</language>
    <category>Fire</category>
    <category>Env</category>
    <event>Großbrand</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <onset>{onset}</onset>
    <expires>{expires_6h}</expires>
    <headline>Großbrand im Gewerbegebiet Elzenburg: starker Rauch</headline>
    <description>Im Gewerbegebiet Elzenburg in Oss brennt ein Betrieb. Der Rauch zieht Richtung Berghem.</description>
    <instruction>Gehen Sie nach drinnen. Schließen Sie Fenster und Türen.</instruction>
    <parameter><valueName>kanaal</valueName><value>NL-Alert</value></parameter>
    <area>
      <areaDesc>Oss und Berghem, 2,5 km um den Brand</areaDesc>
      <circle>51.7712,5.5466 2.5</circle>
    </area>
  </info>
  <info>
    <language>ar</language>
    <category>Fire</category>
    <category>Env</category>
    <event>حريق كبير</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <onset>{onset}</onset>
    <expires>{expires_6h}</expires>
    <headline>حريق كبير في المنطقة الصناعية إلزنبورخ: دخان كثيف</headline>
    <description>يوجد حريق كبير في شركة بالمنطقة الصناعية إلزنبورخ في أوس.</description>
    <instruction>ادخل إلى المنزل. أغلق النوافذ والأبواب.</instruction>
    <parameter><valueName>kanaal</valueName><value>NL-Alert</value></parameter>
    <area>
      <areaDesc>أوس وبيرخم</areaDesc>
      <circle>51.7712,5.5466 2.5</circle>
    </area>
  </info>
</alert>
"""

# Power-outage notice: Dutch, English, Turkish; three municipalities as geocodes; a map.
POWER_OUTAGE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>VRBN-STROOM-2026-11-23-01</identifier>
  <sender>crisiscommunicatie@vrbn.example</sender>
  <sent>{sent}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>nl-NL</language>
    <category>Infra</category>
    <event>Langdurige stroomuitval</event>
    <responseType>Monitor</responseType>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <effective>{effective}</effective>
    <expires>{expires_3d}</expires>
    <senderName>Veiligheidsregio Brabant-Noord</senderName>
    <headline>Stroom mogelijk pas over 3 dagen terug</headline>
    <description>Netbeheerder Enexis verwacht dat de stroom in Oss, Bernheze en Maasdriel pas over drie dagen terug is. Noodsteunpunten blijven open.</description>
    <instruction>Ga bij nood naar het noodsteunpunt bij u in de buurt. Zet apparaten uit die vanzelf aan kunnen gaan.</instruction>
    <resource>
      <resourceDesc>Kaart met noodsteunpunten</resourceDesc>
      <mimeType>application/pdf</mimeType>
      <uri>https://www.vrbn.example/kaart-nsp.pdf</uri>
    </resource>
    <area>
      <areaDesc>Gemeente Oss</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0828</value></geocode>
    </area>
    <area>
      <areaDesc>Gemeente Bernheze</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM1721</value></geocode>
    </area>
    <area>
      <areaDesc>Gemeente Maasdriel</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0263</value></geocode>
    </area>
  </info>
  <info>
    <language>en-GB</language>
    <category>Infra</category>
    <event>Prolonged power outage</event>
    <responseType>Monitor</responseType>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <effective>{effective}</effective>
    <expires>{expires_3d}</expires>
    <senderName>Safety Region Brabant-Noord</senderName>
    <headline>Power may not return for 3 days</headline>
    <description>Grid operator Enexis expects power in Oss, Bernheze and Maasdriel to return in three days. Emergency support points stay open.</description>
    <instruction>In an emergency go to the emergency support point near you.</instruction>
    <area>
      <areaDesc>Municipality of Oss</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0828</value></geocode>
    </area>
    <area>
      <areaDesc>Municipality of Bernheze</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM1721</value></geocode>
    </area>
    <area>
      <areaDesc>Municipality of Maasdriel</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0263</value></geocode>
    </area>
  </info>
  <info>
    <language>tr</language>
    <category>Infra</category>
    <event>Uzun süreli elektrik kesintisi</event>
    <responseType>Monitor</responseType>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <effective>{effective}</effective>
    <expires>{expires_3d}</expires>
    <headline>Elektrik 3 gün boyunca gelmeyebilir</headline>
    <description>Şebeke işletmecisi Enexis, Oss, Bernheze ve Maasdriel'de elektriğin üç gün içinde geri geleceğini bekliyor.</description>
    <instruction>Acil durumda size en yakın acil destek noktasına gidin.</instruction>
    <area>
      <areaDesc>Oss belediyesi</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0828</value></geocode>
    </area>
    <area>
      <areaDesc>Bernheze belediyesi</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM1721</value></geocode>
    </area>
    <area>
      <areaDesc>Maasdriel belediyesi</areaDesc>
      <geocode><valueName>CBS-gemeentecode</valueName><value>GM0263</value></geocode>
    </area>
  </info>
</alert>
"""

# An Update of the boil-water advice (the area grew), then its Cancel.
BOIL_WATER_UPDATE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NL-BW-2026-0143</identifier>
  <sender>storingen@brabantwater.example</sender>
  <sent>{later}</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>storingen@brabantwater.example,NL-BW-2026-0142,{sent}</references>
  <info>
    <language>nl-NL</language>
    <category>Health</category>
    <event>Kookadvies drinkwater</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <expires>{expires_3d}</expires>
    <senderName>Brabant Water</senderName>
    <headline>Kookadvies nu ook voor Oss-Centrum</headline>
    <description>Het kookadvies geldt nu ook voor Oss-Centrum.</description>
    <instruction>Kook water 3 minuten.</instruction>
    <area><areaDesc>Oss-Noord, Oss-Centrum en Berghem</areaDesc></area>
  </info>
</alert>
"""

BOIL_WATER_CANCEL = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NL-BW-2026-0150</identifier>
  <sender>storingen@brabantwater.example</sender>
  <sent>{later}</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <references>storingen@brabantwater.example,NL-BW-2026-0142,{sent} storingen@brabantwater.example,NL-BW-2026-0143,{later}</references>
</alert>
"""
