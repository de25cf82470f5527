#!/usr/bin/env python3
"""Blind evaluation data generator for NSP report grouping (written without looking at the project code).

Creates two invented regions:
  velderhoven : mid-size city with 4 neighbourhoods (Centrum, Oosterpark, De Hoeven, Molenwijk)
  maasveld    : rural municipality with 4 villages (Hulsveld, Ravenhorst, Ommelo, Dreumelen)
                that share street names (Kerkstraat x4, Dorpsstraat x3, Schoolstraat x2, Molenweg x2)
Run: python3 make_data.py   (deterministic, seed below)
"""
import json, math, os, random, datetime, collections

SEED = 20261123
R = random.Random(SEED)
OUT = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------- geometry
def move(lat, lon, dn, de):
    return (lat + dn / 111320.0, lon + de / (111320.0 * math.cos(math.radians(lat))))

def dist(a, b):
    dn = (a[0] - b[0]) * 111320.0
    de = (a[1] - b[1]) * 111320.0 * math.cos(math.radians(a[0]))
    return math.hypot(dn, de)

def jitter(lat, lon, lo=10, hi=80):
    d = R.uniform(lo, hi); ang = R.uniform(0, 2 * math.pi)
    return move(lat, lon, d * math.cos(ang), d * math.sin(ang))

# ----------------------------------------------------------------------------- regions
REGIONS = {
  'velderhoven': dict(
    code='A', gemeente='Velderhoven', center=(52.0480, 5.6620), rural=False,
    areas={  # name: (offset north km, offset east km, postcode prefix, woonplaats)
      'Centrum': (0.0, 0.0, '6731', 'Velderhoven'),
      'Oosterpark': (0.3, 1.4, '6732', 'Velderhoven'),
      'De Hoeven': (-1.2, -0.5, '6733', 'Velderhoven'),
      'Molenwijk': (0.7, -1.4, '6734', 'Velderhoven'),
    },
    streets=[  # (name, area, n houses)
      ('Kerkstraat', 'Centrum', 48), ('Hoogstraat', 'Centrum', 60), ('Markt', 'Centrum', 24),
      ('Oranjeplein', 'Centrum', 20), ('Burgemeester van den Elsenstraat', 'Centrum', 44),
      ('Sint Janssingel', 'Centrum', 56), ('Prins Hendrikkade', 'Centrum', 36), ('Molenstraat', 'Centrum', 40),
      ('Stationsweg', 'Centrum', 50), ('Korte Nieuwstraat', 'Centrum', 18), ('Lange Nieuwstraat', 'Centrum', 42),
      ('Beukenlaan', 'Oosterpark', 38), ('Berkenlaan', 'Oosterpark', 36), ('Eikenlaan', 'Oosterpark', 40),
      ('Lindelaan', 'Oosterpark', 30), ('Kastanjelaan', 'Oosterpark', 28), ('Esdoornstraat', 'Oosterpark', 24),
      ('Populierenweg', 'Oosterpark', 46), ('Van Heemstraweg', 'Oosterpark', 50),
      ('Burgemeester Dekkerslaan', 'Oosterpark', 44),
      ('Prinses Beatrixlaan', 'De Hoeven', 60), ('Prins Bernhardstraat', 'De Hoeven', 40),
      ('Koningin Julianaplein', 'De Hoeven', 22), ('Rembrandtlaan', 'De Hoeven', 44), ('Vermeerstraat', 'De Hoeven', 30),
      ('Frans Halsstraat', 'De Hoeven', 30), ('Jan Steenstraat', 'De Hoeven', 28),
      ('Dokter Schaepmanstraat', 'De Hoeven', 34), ('Sint Maartensplein', 'De Hoeven', 16),
      ('Molenweg', 'Molenwijk', 52), ('Kanaalweg', 'Molenwijk', 64), ('Sluiskade', 'Molenwijk', 30),
      ('Zuiderdijk', 'Molenwijk', 40), ('Noorderdijk', 'Molenwijk', 40), ('Rozenlaan', 'Molenwijk', 30),
      ('Rozenstraat', 'Molenwijk', 26), ('Tulpstraat', 'Molenwijk', 24), ('Narcisstraat', 'Molenwijk', 24),
      ('Graaf Ottostraat', 'Molenwijk', 32), ('Van der Duyn van Maasdamstraat', 'Molenwijk', 20),
    ],
    flats={('Sint Janssingel', 40): 16, ('Stationsweg', 2): 12, ('Prinses Beatrixlaan', 1): 20},
    places=[  # naam, soort, street, nr, aliases
      ('Jumbo Velderhoven', 'supermarkt', 'Hoogstraat', 31, ['de Jumbo', 'Jumbo Centrum', 'Jumbo Hoogstraat']),
      ('Albert Heijn Oosterpark', 'supermarkt', 'Populierenweg', 12, ['de AH', 'Appie', 'Albert Heijn']),
      ('Station Velderhoven', 'station', 'Stationsweg', 1, ['het station', 'NS-station']),
      ('Sint-Janskerk', 'kerk', 'Kerkstraat', 2, ['de Sint-Jan', 'de grote kerk', 'Janskerk']),
      ('Moskee Al Fath', 'moskee', 'Kanaalweg', 40, ['de moskee']),
      ('OBS De Regenboog', 'school', 'Eikenlaan', 20, ['De Regenboog', 'de Regenboogschool']),
      ('Basisschool Sint Maarten', 'school', 'Sint Maartensplein', 3, ['Sint Maartenschool', 'de Maartenschool']),
      ('Sporthal De Hoeven', 'sporthal', 'Prinses Beatrixlaan', 50, ['de sporthal', 'sporthal Hoeven']),
      ('Huisartsenpost Velderhoven', 'huisartsenpost', 'Burgemeester van den Elsenstraat', 10, ['de HAP', 'de huisartsenpost', 'dokterspost']),
      ('Apotheek Centrum', 'apotheek', 'Markt', 5, ['de apotheek', 'apotheek op de Markt']),
      ('Zorgcentrum De Linde', 'zorgcentrum', 'Lindelaan', 2, ['De Linde', 'verpleeghuis De Linde', 'het bejaardenhuis']),
      ('Stadspark', 'park', 'Van Heemstraweg', 1, ['het park', 'het Stadspark']),
      ('Kanaalbrug', 'brug', 'Kanaalweg', 1, ['de brug over het kanaal', 'de kanaalbrug', 'de ophaalbrug']),
      ('Bibliotheek Velderhoven', 'other', 'Hoogstraat', 20, ['de bieb', 'de bibliotheek']),
      ('Tankstation Kanaalweg', 'bedrijf', 'Kanaalweg', 60, ['de pomp', 'het tankstation', 'de Tango']),
      ('Stadhuis', 'other', 'Markt', 1, ['het stadhuis', 'het gemeentehuis']),
      ('Markt', 'plein', 'Markt', 12, ['de markt', 'het marktplein']),
      ('Wijkcentrum De Boog', 'other', 'Populierenweg', 30, ['De Boog', 'het buurthuis']),
      ('Flat Singelhof', 'other', 'Sint Janssingel', 40, ['de flat aan de singel', 'Singelhof', 'de hoge flat']),
      ('Bakkerij Van Dam', 'bedrijf', 'Molenstraat', 8, ['de bakker', 'bakker Van Dam']),
    ],
    nsps=[
      ('nsp-bieb', 'NSP Bibliotheek Velderhoven', 'Hoogstraat', 20),
      ('nsp-sintjan', 'NSP Sint-Janskerk', 'Kerkstraat', 2),
      ('nsp-deboog', 'NSP Wijkcentrum De Boog', 'Populierenweg', 30),
      ('nsp-sporthal', 'NSP Sporthal De Hoeven', 'Prinses Beatrixlaan', 50),
      ('nsp-moskee', 'NSP Moskee Al Fath', 'Kanaalweg', 40),
      ('nsp-maarten', 'NSP Basisschool Sint Maarten', 'Sint Maartensplein', 3),
    ],
  ),
  'maasveld': dict(
    code='B', gemeente='Maasveld', center=(51.7300, 5.9400), rural=True,
    areas={
      'Hulsveld': (0.0, 0.0, '5441', 'Hulsveld'),
      'Ravenhorst': (2.3, 2.3, '5442', 'Ravenhorst'),
      'Ommelo': (-3.0, 1.5, '5443', 'Ommelo'),
      'Dreumelen': (0.5, -3.0, '5444', 'Dreumelen'),
    },
    streets=[
      ('Kerkstraat', 'Hulsveld', 40), ('Dorpsstraat', 'Hulsveld', 50), ('Schoolstraat', 'Hulsveld', 24),
      ('Molenweg', 'Hulsveld', 30), ('Burgemeester Smitsweg', 'Hulsveld', 36), ('Sint Lambertusplein', 'Hulsveld', 14),
      ('Beekstraat', 'Hulsveld', 26), ('Van Heeswijkstraat', 'Hulsveld', 22), ('Kloosterlaan', 'Hulsveld', 20),
      ('Eikenlaan', 'Hulsveld', 18),
      ('Kerkstraat', 'Ravenhorst', 26), ('Dorpsstraat', 'Ravenhorst', 36), ('Kapelweg', 'Ravenhorst', 24),
      ('Heuvelstraat', 'Ravenhorst', 20), ('Pastoor van Ommenstraat', 'Ravenhorst', 18),
      ('Ravenhorsterdijk', 'Ravenhorst', 40), ('Schoolstraat', 'Ravenhorst', 16),
      ('Dorpsstraat', 'Ommelo', 30), ('Kerkstraat', 'Ommelo', 20), ('Oude Maasdijk', 'Ommelo', 44),
      ('Veerweg', 'Ommelo', 24), ('Hoogveldseweg', 'Ommelo', 30), ('Molenweg', 'Ommelo', 22),
      ('Kerkstraat', 'Dreumelen', 22), ('Graaf van Hornestraat', 'Dreumelen', 24), ('Broekweg', 'Dreumelen', 32),
      ('Lage Dijk', 'Dreumelen', 28), ('Sint Jozefstraat', 'Dreumelen', 18), ('Prinses Margrietlaan', 'Dreumelen', 20),
      ('Dorpsplein', 'Dreumelen', 12), ('Hulsveldseweg', 'Dreumelen', 20),
    ],
    flats={},
    places=[
      ('Sint-Lambertuskerk', 'kerk', ('Sint Lambertusplein', 'Hulsveld'), 1, ['de kerk in Hulsveld', 'Lambertuskerk', 'de Lambertus']),
      ('Sint-Martinuskerk', 'kerk', ('Kerkstraat', 'Ravenhorst'), 1, ['de kerk in Ravenhorst', 'Martinuskerk']),
      ('Kapel Ommelo', 'kerk', ('Kerkstraat', 'Ommelo'), 2, ['de kapel', 'het kerkje van Ommelo']),
      ('Coop Hulsveld', 'supermarkt', ('Dorpsstraat', 'Hulsveld'), 15, ['de Coop', 'de supermarkt']),
      ('Spar Ravenhorst', 'supermarkt', ('Dorpsstraat', 'Ravenhorst'), 10, ['de Spar', 'de buurtsuper']),
      ('Basisschool De Klimop', 'school', ('Schoolstraat', 'Hulsveld'), 5, ['De Klimop', 'de school in Hulsveld']),
      ("Basisschool 't Veer", 'school', ('Veerweg', 'Ommelo'), 3, ["'t Veer", 'de school in Ommelo']),
      ('Zorgcentrum Ter Borch', 'zorgcentrum', ('Kloosterlaan', 'Hulsveld'), 2, ['Ter Borch', 'het bejaardenhuis', 'het verzorgingshuis']),
      ('Huisartsenpraktijk Maasveld', 'huisartsenpost', ('Burgemeester Smitsweg', 'Hulsveld'), 4, ['de dokter', 'de huisarts', 'praktijk Smitsweg']),
      ('Apotheek Hulsveld', 'apotheek', ('Dorpsstraat', 'Hulsveld'), 22, ['de apotheek']),
      ('Sporthal De Wissel', 'sporthal', ('Broekweg', 'Dreumelen'), 2, ['De Wissel', 'de sporthal']),
      ('Dorpshuis De Kiepkoel', 'other', ('Dorpsplein', 'Dreumelen'), 1, ['het dorpshuis', 'De Kiepkoel']),
      ('Veerpont Ommelo', 'other', ('Veerweg', 'Ommelo'), 24, ['het veer', 'de pont']),
      ('Weteringbrug', 'brug', ('Ravenhorsterdijk', 'Ravenhorst'), 1, ['het bruggetje over de Wetering', 'de brug bij de Wetering']),
      ('Melkveebedrijf Van Rooij', 'bedrijf', ('Broekweg', 'Dreumelen'), 30, ['boerderij Van Rooij', 'de boerderij van Van Rooij']),
      ('Gemaal Ommelo', 'other', ('Oude Maasdijk', 'Ommelo'), 44, ['het gemaal', 'het pompgemaal']),
      ('Molen De Hoop', 'other', ('Molenweg', 'Hulsveld'), 30, ['de molen', 'molen De Hoop']),
      ('Café De Zwaan', 'bedrijf', ('Dorpsstraat', 'Ravenhorst'), 2, ['De Zwaan', 'het café']),
      ('Dorpsplein Dreumelen', 'plein', ('Dorpsplein', 'Dreumelen'), 6, ['het dorpsplein', 'het plein']),
    ],
    nsps=[
      ('nsp-hulsveld-kerk', 'NSP Sint-Lambertuskerk Hulsveld', ('Sint Lambertusplein', 'Hulsveld'), 1),
      ('nsp-terborch', 'NSP Zorgcentrum Ter Borch', ('Kloosterlaan', 'Hulsveld'), 2),
      ('nsp-ravenhorst', 'NSP Café De Zwaan Ravenhorst', ('Dorpsstraat', 'Ravenhorst'), 2),
      ('nsp-ommelo', "NSP Basisschool 't Veer Ommelo", ('Veerweg', 'Ommelo'), 3),
      ('nsp-dreumelen', 'NSP Dorpshuis De Kiepkoel', ('Dorpsplein', 'Dreumelen'), 1),
    ],
  ),
}

LETTERS = 'ABCDEFGHJKLMNPRSTVWXZ'

def build_gazetteer(reg):
    """returns addresses (list of dict) and street index {(street, woonplaats): street dict}"""
    lat0, lon0 = reg['center']
    streets = {}
    rows = []
    used_letters = set()
    per_area_count = collections.Counter()
    for name, area, n in reg['streets']:
        dn, de, pc, wp = reg['areas'][area]
        alat, alon = move(lat0, lon0, dn * 1000, de * 1000)
        k = per_area_count[area]; per_area_count[area] += 1
        # streets fan out around the area centre
        r = 80 + 90 * (k % 4) + R.uniform(0, 60)
        a = 2 * math.pi * k / 10.0 + R.uniform(-0.3, 0.3)
        slat, slon = move(alat, alon, r * math.cos(a), r * math.sin(a))
        bearing = R.uniform(0, math.pi)
        spacing = 10.0
        # shift start so the street is centred on that point
        half = (n - 1) * spacing / 2
        slat, slon = move(slat, slon, -half * math.cos(bearing), -half * math.sin(bearing))
        while True:
            pl = LETTERS[R.randrange(len(LETTERS))] + LETTERS[R.randrange(len(LETTERS))]
            if (pc, pl) not in used_letters:
                break
        st = dict(name=name, area=area, woonplaats=wp, n=n, start=(slat, slon), bearing=bearing, houses={})
        streets[(name, wp)] = st
        pcs = []
        for nr in range(1, n + 1):
            if (nr - 1) % 30 == 0:
                while True:
                    pl = LETTERS[R.randrange(len(LETTERS))] + LETTERS[R.randrange(len(LETTERS))]
                    if (pc, pl) not in used_letters:
                        used_letters.add((pc, pl)); break
            postcode = pc + pl
            along = (nr - 1) * spacing
            side = 7.0 if nr % 2 else -7.0
            hlat, hlon = move(slat, slon, along * math.cos(bearing) - side * math.sin(bearing),
                              along * math.sin(bearing) + side * math.cos(bearing))
            variants = [('', '')]
            if (name, nr) in reg['flats']:
                variants = [('', str(i)) for i in range(1, reg['flats'][(name, nr)] + 1)]
            elif R.random() < 0.04:
                variants = [('', ''), ('A', '')] if R.random() < 0.6 else [('A', ''), ('B', '')]
            for hl, tv in variants:
                row = dict(openbareruimte=name, huisnummer=nr, huisletter=hl, huisnummertoevoeging=tv,
                           postcode=postcode, woonplaats=wp, gemeente=reg['gemeente'],
                           lat=round(hlat, 6), lon=round(hlon, 6))
                rows.append(row)
            st['houses'][nr] = dict(street=name, nr=nr, woonplaats=wp, postcode=postcode, lat=hlat, lon=hlon,
                                    variants=variants, area=area)
    return rows, streets

# ----------------------------------------------------------------------------- text utilities
UNITS = ['nul', 'een', 'twee', 'drie', 'vier', 'vijf', 'zes', 'zeven', 'acht', 'negen', 'tien', 'elf', 'twaalf',
         'dertien', 'veertien', 'vijftien', 'zestien', 'zeventien', 'achttien', 'negentien']
TENS = ['', '', 'twintig', 'dertig', 'veertig', 'vijftig', 'zestig', 'zeventig', 'tachtig', 'negentig']

def num_words(n):
    if n < 20:
        return UNITS[n]
    if n < 100:
        t, u = divmod(n, 10)
        if u == 0:
            return TENS[t]
        un = UNITS[u]
        return un + ('ën' if un.endswith('e') else 'en') + TENS[t]
    return str(n)

SUFFIX_ABBR = [('straat', ['str', 'str.', 'straat', 'strt']), ('laan', ['ln', 'ln.', 'laan']),
               ('plein', ['pl', 'pl.', 'pln']), ('singel', ['sngl', 'singel', 'sgl']), ('weg', ['wg', 'weg', 'wg.']),
               ('dijk', ['dk', 'dijk', 'dk.']), ('kade', ['kd', 'kade', 'kd.'])]
PREFIX_ABBR = [('Burgemeester ', ['Burg. ', 'Burg ', 'Burgem. ', 'burgemeester ', 'Bgm ']),
               ('van den ', ['v.d. ', 'vd ', 'van den ', 'v/d ']), ('van der ', ['v.d. ', 'vd ', 'van der ']),
               ('Van ', ['v. ', 'Van ', 'van ']), ('Sint ', ['St. ', 'St ', 'Sint ', 'st ']),
               ('Prinses ', ['Pr. ', 'Prinses ', 'Pr ']), ('Prins ', ['Pr. ', 'Prins ', 'Pr ']),
               ('Koningin ', ['Kon. ', 'Koningin ', 'Kon ']), ('Dokter ', ['Dr. ', 'Dr ', 'dr ']),
               ('Pastoor ', ['Past. ', 'Pastoor ', 'P. ']), ('Graaf ', ['Gr. ', 'Graaf ', 'gr. ']),
               ('Oude ', ['O. ', 'Oude ', 'oude ']), ('Lange ', ['L. ', 'Lange ']), ('Korte ', ['K. ', 'Korte '])]

def abbreviate(street):
    s = street
    for full, opts in PREFIX_ABBR:
        if full in s and R.random() < 0.8:
            s = s.replace(full, R.choice(opts), 1)
    for full, opts in SUFFIX_ABBR:
        if s.endswith(full) and len(s) > len(full) and R.random() < 0.85:
            s = s[: -len(full)] + R.choice(opts)
            break
    return s

VOWELS = 'aeiou'
def typo_word(w):
    if len(w) < 4:
        return w
    ops = ['double', 'drop', 'swap', 'ij', 'dt', 'vowel', 'drop']
    op = R.choice(ops)
    i = R.randrange(1, len(w) - 1)
    if op == 'double' and w[i].isalpha():
        return w[:i] + w[i] + w[i:]
    if op == 'drop':
        return w[:i] + w[i + 1:]
    if op == 'swap':
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    if op == 'ij':
        if 'ij' in w:
            return w.replace('ij', R.choice(['y', 'ei', 'i']), 1)
        if 'ei' in w:
            return w.replace('ei', 'ij', 1)
    if op == 'dt':
        if w.endswith('dt'):
            return w[:-2] + R.choice(['d', 't'])
        if w.endswith('d'):
            return w[:-1] + 't'
        if w.endswith('t') and len(w) > 4:
            return w[:-1] + 'dt'
    if op == 'vowel':
        for j in range(i, len(w)):
            if w[j] in VOWELS and j + 1 < len(w) and w[j + 1] == w[j]:
                return w[:j] + w[j + 1:]  # oo -> o
            if w[j] in 'ae' and j + 1 < len(w) and w[j + 1] not in VOWELS:
                return w[:j] + w[j] + w[j:]  # a -> aa
    return w[:i] + w[i + 1:]

def typo_text(s, n=None):
    words = s.split(' ')
    idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not idx:
        return s
    n = n or R.choice([1, 1, 1, 2, 2, 3])
    for i in R.sample(idx, min(n, len(idx))):
        words[i] = typo_word(words[i])
    return ' '.join(words)

def typo_street(street):
    parts = street.split(' ')
    j = max(range(len(parts)), key=lambda k: len(parts[k]))
    parts[j] = typo_word(parts[j])
    return ' '.join(parts)

def cap1(s):
    return s[:1].upper() + s[1:] if s else s

def clean(s):
    import re
    s = re.sub(r'\s+', ' ', s).strip()
    s = s.replace(' ,', ',').replace(' .', '.').replace('..', '.').replace(',.', '.').replace(' :', ':')
    s = s.replace('. .', '.').replace('?.', '?').replace('!.', '!').replace(',,', ',')
    s = re.sub(r'\(\s*\)', '', s)
    s = s.replace(',  jaar,', ',').replace(', jaar,', ',')
    s = re.sub(r',\s*\.', '.', s)
    s = re.sub(r'\s+', ' ', s).strip()
    if s.startswith(', ') or s.startswith('. '):
        s = s[2:]
    return cap1(s)

# ----------------------------------------------------------------------------- address rendering
def nr_str(loc, style):
    nr = str(loc['nr'])
    hl = loc.get('letter', '')
    tv = loc.get('toev', '')
    if hl:
        nr += R.choice([hl, hl.lower(), ' ' + hl, '-' + hl.lower()])
    if tv:
        nr += R.choice(['-' + tv, ' ' + tv, '/' + tv, ' app. ' + tv, ' nr ' + tv if False else '-' + tv, ' flat ' + tv])
    return nr

def street_form(street, casual=True):
    s = street
    r = R.random()
    if r < 0.30:
        s = abbreviate(s)
    elif r < 0.40:
        s = typo_street(s)
    elif r < 0.45:
        s = typo_street(abbreviate(s))
    if R.random() < 0.25:
        s = s.lower()
    return s

def render_address(reg, loc, need_nr=True, village_p=None):
    """free-form address as typed into the form"""
    st = street_form(loc['street'])
    rural = reg['rural']
    if village_p is None:
        village_p = 0.55 if rural else 0.15
    if need_nr or R.random() < 0.85:
        if R.random() < 0.04:
            a = st + ' nummer ' + num_words(loc['nr'])
        else:
            a = st + ' ' + nr_str(loc, None)
    else:
        a = st + R.choice([' ter hoogte van nr %d' % loc['nr'], ' (bij nr %d)' % loc['nr'], ' ongeveer nr %d' % (loc['nr'] + R.choice([-2, 0, 2])), ''])
    if R.random() < 0.07:
        pc = loc['postcode']
        pcs = R.choice([pc, pc[:4] + ' ' + pc[4:], pc.lower()])
        a = a + R.choice([', ', ' ']) + pcs + ' ' + loc['woonplaats']
    elif R.random() < village_p:
        wp = loc['woonplaats']
        if R.random() < 0.2:
            wp = wp.lower()
        a = a + R.choice([', ', ' ', ' te ', ' in ']) + wp
    if R.random() < 0.04:
        a = a.upper()
    return a.strip()

def place_phrase(place, at=True):
    al = R.choice(place['aliases'] + [place['naam']])
    if place['soort'] == 'school' and not place.get('rel') and R.random() < 0.35:
        return R.choice(['schoolplein van ', 'het schoolplein van ', 'bij het schoolplein ']) + al
    if at:
        prep = R.choice(['bij ', 'bij ', 'achter ', 'naast ', 't.o. ', 'tegenover ', 'voor ', 'hk ']) if place.get('rel') else R.choice(['bij ', 'bij ', 'in ', 'bij ', 'voor '])
        if prep == 'hk ':
            return 'hk ' + abbreviate(place['street']) + ' bij ' + al
        return prep + al
    return al

# ----------------------------------------------------------------------------- people
SURN = ['Jansen', 'de Vries', 'van den Berg', 'Bakker', 'Visser', 'Smit', 'Meijer', 'de Boer', 'Mulder', 'de Groot',
        'Bos', 'Vos', 'Peters', 'Hendriks', 'van Leeuwen', 'Dekker', 'Brouwer', 'de Wit', 'Dijkstra', 'Smits',
        'de Graaf', 'van der Meer', 'Kok', 'Jacobs', 'Vermeulen', 'van Dijk', 'Willems', 'Verhoeven', 'van Rooij',
        'Schouten', 'Hermans', 'Kuipers', 'Yilmaz', 'El Amrani', 'Kaya', 'Nguyen', 'Wouters', 'Timmermans']
FN_M = ['Henk', 'Jan', 'Kees', 'Piet', 'Gerrit', 'Ahmed', 'Mehmet', 'Wim', 'Bert', 'Theo', 'Joost', 'Sem', 'Daan',
        'Noah', 'Liam', 'Milan', 'Jesse', 'Mohammed', 'Ruud', 'Harm']
FN_F = ['Annie', 'Riet', 'Tiny', 'Gerda', 'Fatima', 'Ans', 'Corrie', 'Marja', 'Emma', 'Julia', 'Sophie', 'Lotte',
        'Sara', 'Noor', 'Yasmina', 'Mila', 'Ilse', 'Wilma', 'Truus', 'Ayse']
REPORTERS = ['Jan de Vries', 'Marieke Smit', 'P. Jansen', 'Fatima el Idrissi', 'Henk', 'mevr. Bos', 'Kees van Dijk',
             'Ahmet Kaya', 'Sandra', 'Ruud Hermans', 'Joke Peters', 'Tom (buurman)', 'Ingrid de Graaf', 'Mo', 'Anja',
             'familie Mulder', 'Bram Wouters', 'Els', 'dhr. Verhoeven', 'Linda van Leeuwen', 'Nguyen T.', 'Gert-Jan']

def make_person(kind):
    sex = R.choice('mf')
    if kind == 'elderly':
        age = R.randint(72, 94)
    elif kind == 'child':
        age = R.randint(3, 11)
    elif kind == 'adult':
        age = R.randint(28, 70)
    else:
        age = R.choice([R.randint(20, 60), R.randint(60, 92)])
    fn = R.choice(FN_M if sex == 'm' else FN_F)
    return dict(sex=sex, age=age, surname=R.choice(SURN), first=fn)

def person_refs(p):
    s, a = p['surname'], p['age']
    sc = s[0].upper() + s[1:]
    agea = int(round(a / 5.0) * 5)
    if p['age'] < 14:
        if p['sex'] == 'm':
            return ['mijn zoontje', 'een jongetje van %d' % a, 'het zoontje van de buren', '%s (%d)' % (p['first'], a), 'een jongen van een jaar of %d' % a]
        return ['mijn dochtertje', 'een meisje van %d' % a, 'het dochtertje van de buren', '%s (%d)' % (p['first'], a), 'een meisje van een jaar of %d' % a]
    if p['sex'] == 'm':
        r = ['de buurman', 'mijn buurman', 'meneer %s' % s, 'dhr. %s' % sc, 'een man van rond de %d' % agea, 'de bewoner',
             '%s %s' % (p['first'], sc), 'een man (%d)' % a]
        r += ['mijn vader', 'mijn opa', 'een oudere meneer', 'de oude meneer van hiernaast'] if a >= 65 else ['mijn man', 'mijn broer', 'een jonge vent', 'de zoon van de buren']
    else:
        r = ['de buurvrouw', 'mijn buurvrouw', 'mevrouw %s' % s, 'mw. %s' % sc, 'een vrouw van ongeveer %d' % agea, 'de bewoonster',
             '%s %s' % (p['first'], sc), 'een vrouw (%d)' % a]
        r += ['mijn moeder', 'mijn oma', 'een oudere dame', 'de oude mevrouw van hiernaast'] if a >= 65 else ['mijn vrouw', 'mijn zus', 'een jonge vrouw', 'de dochter van de buren']
    return r

def nn_refs(p):
    if p['sex'] == 'm':
        return ['mijn buurman', 'oude meneer', 'mijn vader', 'die man', 'meneer naast mij'] if p['age'] >= 60 else ['mijn man', 'buurman', 'mijn broer', 'die man']
    return ['mijn buurvrouw', 'oude mevrouw', 'mijn moeder', 'die vrouw', 'mevrouw naast mij'] if p['age'] >= 60 else ['mijn vrouw', 'buurvrouw', 'mijn zus', 'die vrouw']

HOUSEHOLD_REFS = ['het gezin %s', 'de familie %s', 'de buren', 'mijn zus en haar kinderen', 'de bewoners', 'een gezin',
                  'de mensen op dat adres', 'familie %s']

WHO = ['Buurvrouw', 'Een buurman', 'Dochter', 'Een voorbijganger', 'Kleinzoon', 'Bewoner van de overkant', 'Een jongen',
       'Mantelzorger', 'Postbode', 'Een vrijwilliger', 'Collega van de bewoner', 'Bezoeker']

EMO_PRE = ['Ik ben hier helemaal overstuur binnengekomen. ', 'Alstublieft, het is echt heel erg! ',
           'We weten niet meer wat we moeten doen, telefoon doet het niet en 112 ook niet. ',
           'Mevrouw kwam huilend binnen bij het NSP. ', 'Ik ben hier zo snel mogelijk naartoe gefietst. ',
           'Meneer is erg in paniek en kon het bijna niet vertellen. ', 'Sorry voor de rommelige melding maar het is dringend. ',
           'Al een half uur proberen we hulp te krijgen! ', 'Man kwam hijgend binnenlopen. ']
EMO_POST = [' Kom alsjeblieft zo snel mogelijk!!', ' Ik ben zo bang dat het te laat is.', ' Er moet NU iemand komen.',
            ' We blijven erbij tot er hulp is.', ' Dank u wel, dank u.', ' Niemand weet wat we moeten doen.',
            ' Help ons alstublieft!!!', ' Het duurt al zo lang.', ' Wij hebben geen idee hoe lang we het nog volhouden.']
CALLBACK = ['via NSP', 'buurman op nr %d weet ervan', 'dochter komt om %d uur terug naar het NSP', 'komt over een uur terug hier',
            '06-%d (als netwerk werkt)', 'bereikbaar via de buren', 'wacht hier bij het NSP', 'zoon, staat buiten bij de ingang']

# ----------------------------------------------------------------------------- incident types
# ev: list of event variants (one chosen per incident); each variant = list of phrasings (one per report, rotated)
# phrasings for person types are verb clauses (subject = the person); for event types full clauses.
GP_TPL = ['{P}{at} {ev}. {x}', '{P} {ev}{at}. {x}', 'Hulp nodig voor {p}{at}: {hij} {ev}. {x}',
          '{who} komt melden dat {p}{at} {ev}. {x}', 'Bezoeker meldt: {p} ({age}){at} {ev}. {x}',
          '{AT}{p} {ev}. {x}', 'Kan er iemand komen{at}? {P} {ev}. {x}', '{P}, {age} jaar, {ev}{at}. {x}',
          'Zorgen over {p}{at}. {Hij} {ev}. {x}']
GH_TPL = ['{P}{at} {ev}. {x}', 'Melding over {p}{at}: ze {ev}. {x}', '{who} meldt dat {p}{at} {ev}. {x}',
          '{AT}{p} {ev}. {x}']
GE_TPL = ['{EV}{at}. {x}', '{AT}{ev}. {x}', 'Melding: {ev}{at}. {x}', '{who} meldt: {ev}{at}. {x}',
          '{EV}, {atn}. {x}', 'Graag iemand sturen{at}, {ev}. {x}']

T = {}
def typ(name, **kw):
    kw.setdefault('x', [''])
    kw.setdefault('tpl', [])
    kw.setdefault('terse', [])
    kw.setdefault('nn', [])
    kw.setdefault('loc', 'addr')
    kw.setdefault('sr_alt', None)
    T[name] = kw

typ('cardiac', kind='hr', cat='medical', urg=[('P1', 1)], subj='any_old',
    ev=[['is in elkaar gezakt en reageert niet meer', 'ademt niet meer', 'is plotseling omgevallen, geen hartslag',
         'is bewusteloos en ademt heel raar, snakkend', 'is blauw aangelopen en reageert nergens op',
         'viel om tijdens het water sjouwen en is niet meer bij bewustzijn', 'is onwel geworden en geeft nu geen reactie meer',
         'ligt op de grond en ademt niet, er wordt gereanimeerd', 'heeft volgens de buren een hartstilstand',
         'zakte ineen aan de keukentafel en komt niet meer bij']],
    x=['Buurman is aan het reanimeren.', 'AED nodig!', 'Weet iemand waar een AED hangt?', 'Er wordt hartmassage gegeven.',
       'Ambulance nodig, 112 werkt niet!', 'Een verpleegkundige uit de straat is erbij.', '',
       'Zoon doet reanimatie, houdt het niet lang meer vol.', 'Graag met spoed!!'],
    tpl=['Reanimatie{at}! {P} {ev}. {x}', 'Spoed: {p}{at} {ev}. {x}', 'Dringend ambulance nodig{at}. {P} ({age}) {ev}. {x}',
         'Hartstilstand{at}, {p} {ev}. {x}', '{who} rende hierheen: {p} {ev}{at}. {x}'],
    terse=['reanimatie {a}', 'hartstilstand {a}!!', 'pers bewusteloos ademt niet {a}', '{a} man ligt, geen ademhaling, AED',
           'REANIMATIE {a} SPOED', '{a} reanimeren nodig ambu', 'AED {a} hartstilstand'],
    nn=['{p2} valt op grond, niet wakker, niet adem. Snel dokter! {a}', 'help please, {p2} is neer gevallen en niet ademen. adres {a}',
        '{p2} hart stop denk ik, alstublieft ambulance {a}', '{Hij} is gevallen, geen adem, wij drukken op borst. {a}'])

typ('breathing', kind='hr', cat='medical', urg=[('P1', 0.2), ('P2', 0.8)], subj='any_old',
    ev=[['hapt naar lucht', 'kan niet uitpraten, is erg benauwd', 'zit voorovergebogen en heeft blauwe lippen',
         'krijgt bijna geen lucht meer', 'piept bij het ademen en de puffer helpt niet', 'heeft COPD en is ernstig benauwd',
         'ademt heel snel en oppervlakkig', 'is kortademig en wordt steeds suffer', 'is erg benauwd en zweet enorm',
         'heeft een zware astma-aanval, vernevelaar werkt niet zonder stroom']],
    x=['Vernevelaar heeft stroom nodig.', 'Puffer is op.', '', 'Het wordt snel erger.', 'Zit rechtop op een stoel bij het open raam.',
       'Heeft dit eerder gehad, toen opgenomen.', 'Graag zuurstof of ambulance.', 'Kan bijna niet praten.'],
    tpl=['Ernstige benauwdheid{at}: {p} {ev}. {x}', 'Dringend: {p} {ev}{at}. {x}', 'Benauwde patiënt{at}. {P} {ev}. {x}'],
    terse=['benauwd {a}', '{a} ernstig benauwd, blauwe lippen', 'kortademig pers {a} puffer op', 'ademnood {a}', 'BENAUWD {a} SNEL'],
    nn=['{p2} heel moeilijk adem, lippen blauw. {a}', '{p2} kan niet lucht krijgen, puffer is op, kom snel alstublieft {a}',
        'Ademen gaat niet goed bij {p2}, {a}, help'])

typ('oxygen', kind='hr', cat='medical', urg=[('P1', 0.15), ('P2', 0.85)], subj='elderly',
    ev=[['is afhankelijk van zuurstof en het apparaat ligt stil door de stroomstoring',
         'heeft een zuurstofconcentrator die zonder stroom niet werkt', 'gebruikt thuis zuurstof, de reservefles is bijna leeg',
         'heeft nog maar voor een paar uur zuurstof in de fles', 'krijgt zuurstof via een apparaat dat nu piept en uitvalt',
         'zit zonder zuurstof sinds de stroom eraf is'],
        ['ligt aan de thuisbeademing en de accu is bijna op', 'heeft thuisbeademing, accu gaat nog hooguit een paar uur mee',
         'is beademingsafhankelijk, het apparaat draait op de laatste accu', 'heeft een beademingsapparaat dat straks stopt']],
    x=['Nog ongeveer {hrs} uur reserve.', 'Leverancier is niet bereikbaar.', 'Graag een volle fles of een plek met stroom.', '',
       'Kan niet zelf naar de huisartsenpost.', 'Heeft al wat blauwe vingers.', 'Partner is in paniek.'],
    tpl=['Zuurstofpatiënt{at}: {p} {ev}. {x}', 'Dringend stroom of zuurstof nodig{at}. {P} {ev}. {x}'],
    terse=['zuurstof op {a}', '{a} zuurstofapparaat werkt niet', 'O2 nodig {a}', 'accu beademing bijna leeg {a}', '{a} zuurstof pt, geen stroom'],
    nn=['{p2} heeft zuurstof machine, machine werkt niet zonder stroom. {a} snel', 'zuurstof is bijna op bij {p2}, alstublieft brengen. {a}'])

typ('fall', kind='hr', cat='medical', urg=[('P2', 0.7), ('P3', 0.3)], subj='elderly',
    ev=[['is gevallen en kan niet meer opstaan', 'is in het donker van de trap gevallen', 'is gestruikeld en heeft veel pijn aan de heup',
         'ligt sinds vannacht op de grond naast het bed', 'is uitgegleden in de badkamer, heup lijkt gebroken',
         'is over een snoer gestruikeld in het donker en kan niet lopen', 'is gevallen, been ligt raar gedraaid',
         'kan na een val niet meer lopen'],
        ['is gevallen en heeft een flinke hoofdwond die bloedt', 'is gevallen met het hoofd tegen de kast, bloedt flink',
         'heeft na een val een snee in het hoofd', 'is gestruikeld, hoofd bloedt en is wat suf']],
    x=['We krijgen {hem} niet overeind.', 'Alarmknop werkt niet zonder stroom.', '', 'Ligt nu met een deken op de vloer.',
       'Is wel aanspreekbaar.', 'Is een beetje verward.', 'Gebruikt bloedverdunners.'],
    tpl=['Val{at}: {p} {ev}. {x}', 'Hulp gevraagd voor {p}{at}, {hij} {ev}. {x}'],
    terse=['val {a} kan niet opstaan', '{a} oudere gevallen heup', 'gevallen pers {a}', '{a} val, ligt op grond', 'val trap {a}'],
    nn=['{p2} is gevallen, kan niet staan op, veel pijn. {a}', '{p2} vallen in donker, been kapot denk ik. {a}. help'])

typ('medication', kind='hr', cat='medical', urg=[('P2', 0.4), ('P3', 0.6)], subj='any_old',
    ev=[['moet insuline koel houden maar de koelkast doet het niet meer', 'heeft insuline die warm wordt, koelkast staat uit',
         'is diabeet en kan de insuline niet koel bewaren', 'vraagt waar {hij} insuline koel kan leggen'],
        ['heeft dringend medicijnen nodig, de voorraad is op', 'heeft geen bloedverdunners meer en de apotheek is dicht',
         'mist {zijn} hartmedicatie, alles is op', 'kan de medicijnen niet ophalen, apotheek gesloten'],
        ['heeft morgen dialyse en er is geen vervoer', 'moet naar de dialyse maar de taxi komt niet',
         'is dialysepatiënt en weet niet hoe {hij} bij het ziekenhuis moet komen'],
        ['heeft een lage suiker en is zweterig en verward', 'is diabeet, trilt en praat onsamenhangend',
         'heeft een hypo volgens de familie, druivensuiker is op']],
    x=['Kan iemand langskomen?', '', 'Huisarts niet bereikbaar.', 'Wie kan de medicijnen ophalen?', 'Woont alleen.',
       'Heeft nog voor één dag.'],
    terse=['insuline koelen {a}', '{a} medicatie op', '{a} diabeet hulp nodig', 'medicijnen nodig {a}', 'dialyse vervoer {a}'],
    nn=['{p2} heeft medicijn nodig, is op, apotheek dicht. {a}', '{p2} suiker ziek, insuline moet koud. {a}'])

typ('chest', kind='hr', cat='medical', urg=[('P1', 0.6), ('P2', 0.4)], subj='any_old',
    ev=[['heeft pijn op de borst die uitstraalt naar de linkerarm', 'heeft een drukkend gevoel op de borst en zweet erg',
         'denkt dat {hij} een hartaanval heeft', 'ziet grauw, is misselijk en heeft pijn op de borst',
         'klaagt over een band om de borst en is kortademig', 'heeft al een uur pijn midden op de borst']],
    x=['Heeft eerder een infarct gehad.', 'Nitrospray helpt niet.', '', 'Graag met spoed een ambulance.', 'Is wel bij bewustzijn.'],
    terse=['pijn op borst {a}', '{a} hartaanval?', '{a} borstpijn uitstraling arm, spoed', 'hartklachten {a}'],
    nn=['{p2} pijn hier in borst, arm ook, is grijs in gezicht. {a}', 'hart pijn bij {p2}, snel dokter alstublieft. {a}'])

typ('co', kind='hr', cat='medical', urg=[('P1', 0.3), ('P2', 0.7)], subj='household', ppl=(2, 5),
    ev=[['hebben een barbecue binnen gezet voor de warmte en zijn nu duizelig en misselijk',
         'stookten een houtskoolbarbecue in de woonkamer en hebben allemaal hoofdpijn',
         'zijn suf en misselijk, er heeft binnen een barbecue gebrand'],
        ['hebben het aggregaat in de garage laten draaien en het hele gezin heeft hoofdpijn',
         'worden niet goed wakker, aggregaat stond in de bijkeuken', 'zijn duizelig en braken, generator draaide binnen'],
        ['stoken een gaskachel zonder ventilatie, de kinderen zijn suf en braken',
         'hebben een terrasheater binnen gezet en zijn nu misselijk', 'zijn slaperig en misselijk door een kachel binnen']],
    x=['Vermoedelijk koolmonoxide.', 'CO-vergiftiging?', 'Ramen zijn nu open gezet.', '', 'Eén kind is moeilijk wakker te krijgen.',
       'Moeder is flauwgevallen.'],
    terse=['CO vergiftiging {a}', '{a} gezin suf misselijk, kachel binnen', 'koolmonoxide {a}!!', '{a} CO? hoofdpijn hele gezin'],
    nn=['familie maakt vuur binnen voor warm, nu alle ziek en duizelig. {a}', 'machine stroom in huis, kinderen worden niet wakker. {a} snel'])

typ('house_fire', kind='hr', cat='fire', urg=[('P1', 0.2), ('P2', 0.8)], subj=None, ppl=(1, 4),
    ev=[['brand in een woning', 'rook komt uit het dak', 'vlammen slaan uit het keukenraam', 'dikke zwarte rook uit de voordeur',
         'de bovenverdieping staat in brand', 'er is brand uitgebroken in huis', 'ramen zijn gesprongen door de hitte',
         'het hele huis staat in de rook'],
        ['een kaars is omgevallen en de woonkamer staat in brand', 'woonkamer in brand door kaarsen', 'de bank en gordijnen branden, begon met een kaars',
         'brand in de woonkamer, vlammen achter het raam']],
    x=['Mogelijk nog iemand binnen!', 'Bewoners staan buiten.', 'Oude man woont er alleen, niet gezien.', 'Brandweer nodig!!', '',
       'Buren proberen te blussen met emmers.', 'Kinderen zijn eruit.', 'Vuur slaat over naar de buren?'],
    tpl=['Woningbrand{at}! {EV}. {x}', 'Huis in brand{at}. {EV}. {x}', '{who} zag het{at}: {ev}. {x}'],
    terse=['brand {a}', 'woningbrand {a} mensen binnen?', 'BRAND {a}', '{a} huis brandt', '{a} vuur rook dak', 'brand woning {a} spoed'],
    nn=['huis brand {a}, veel rook, mensen misschien binnen!', 'Vuur in huis {a}, snel brandweer alstublieft', 'er is brand bij {a} groot vuur'],
    sr_alt=(0.2, 'fire', ['high', 'critical'], ['Grote rookontwikkeling gezien{at}.', 'Vanaf de straat zie je vlammen{at}.',
            'Bezoeker meldt brand in een woning{at}, is de brandweer al onderweg?', 'Zwarte rookpluim boven de huizen{at}, vermoedelijk woningbrand.']))

typ('shed_fire', kind='hr', cat='fire', urg=[('P2', 0.6), ('P3', 0.4)], subj=None,
    ev=[['schuur staat in brand', 'tuinhuisje brandt', 'vlammen achter het huis, de schuur brandt', 'brand in de schuur achter de woning',
         'de schuur in de achtertuin staat in lichterlaaie'],
        ['aggregaat in de schuur vatte vlam', 'generator in het schuurtje is in brand gevlogen', 'brand bij het aggregaat achter het huis'],
        ['de carport brandt', 'brand onder de carport, auto staat eronder', 'carport met houtvoorraad in brand']],
    x=['Dreigt over te slaan naar het huis.', 'Gasfles in de schuur!', '', 'Buurman is aan het blussen.', 'Geen mensen in gevaar.'],
    terse=['brand schuur {a}', '{a} schuurbrand', 'tuinhuis brandt {a}', '{a} brand achtertuin', 'aggr. brand {a}'],
    nn=['klein huis in tuin brand, {a}', 'vuur achter huis bij {a}, snel'],
    sr_alt=(0.15, 'fire', ['moderate', 'high'], ['Rook gezien achter de huizen{at}.', 'Brandlucht en rook{at}, vermoedelijk schuur.']))

typ('kast_fire', kind='hr', cat='fire', urg=[('P2', 0.8), ('P3', 0.2)], subj=None,
    ev=[['stroomkast brandt', 'de elektriciteitskast op de stoep staat in brand', 'vonken en rook uit de groene kast',
         'kabelkast smeult en knettert', 'rook uit de verdeelkast naast het fietspad', 'er komt vuur uit de stroomkast',
         'brand in stroomkast']],
    x=['Kinderen staan te kijken, gevaarlijk.', '', 'Ruikt naar verbrand plastic.', 'Misschien doordat de stroom terugkwam?', 'Graag afzetten.'],
    terse=['stroomkast brandt {a}', 'brand elektrakast {a}', '{a} kast rookt vonkt', 'kabelkast brand {a}'],
    nn=['groene kast op straat brand, vonk vonk. {a}', 'kast van stroom is vuur {a}'],
    sr_alt=(0.3, 'power', ['moderate', 'high'], ['Stroomkast{at} rookt en vonkt.', 'Kabelkast in brand{at}, gevaar voor omstanders.']))

typ('candle_fire', kind='hr', cat='fire', urg=[('P3', 0.6), ('P2', 0.4)], subj=None,
    ev=[['gordijn vatte vlam door een kaars, zelf geblust maar veel rook', 'kaars tegen het gordijn, brandje geblust, kamer vol rook',
         'klein brandje door kaarsen, nu uit'],
        ['schoorsteenbrand, vonken uit de schoorsteen', 'de schoorsteen brandt, veel vonken op het dak', 'brand in het rookkanaal van de houtkachel'],
        ['petroleumkachel vatte vlam, nu uit maar bewoner heeft een brandwond aan de hand',
         'kachel in brand gevlogen, geblust, brandwond aan de arm', 'steekvlam uit de petroleumkachel, bewoner verbrand aan de hand']],
    x=['Graag controle door de brandweer.', 'Bewoonster is in shock.', '', 'Het smeult misschien nog.', 'Rookmelder ging af.'],
    terse=['kleine brand geblust {a}', '{a} schoorsteenbrand', '{a} kaars brand, geblust, rook', 'brandwond {a} kachel'],
    nn=['klein vuur in huis, nu uit, veel rook. {a}', 'kachel vuur, hand verbrand. {a}'])

typ('burglary', kind='hr', cat='crime', urg=[('P2', 0.4), ('P3', 0.6)], subj=None,
    ev=[['er is ingebroken', 'voordeur opengebroken, spullen weg', 'raam ingeslagen en spullen meegenomen',
         'ingebroken terwijl de bewoner hier bij het NSP zat', 'bewoner hoorde glas breken, daarna wegrennende mensen'],
        ['er lopen mannen met zaklampen door de tuinen', 'verdachte personen met zaklampen in de achtertuinen',
         'twee mannen klimmen over de schuttingen', 'mensen schijnen met lampen bij de achterdeuren naar binnen'],
        ['mensen zijn bezig in een leeg huis, de bewoners zijn weg', 'verdachte personen in een leegstaande woning',
         'er is licht en geluid in het huis van de buren die op vakantie zijn']],
    x=['Daders mogelijk nog in de buurt.', 'Sieraden en een aggregaat meegenomen.', '', 'Twee jongens op een scooter.',
       'Bewoonster is erg geschrokken.', 'Politie graag langs.'],
    tpl=['Inbraak{at}: {ev}. {x}', 'Politie nodig{at}, {ev}. {x}'],
    terse=['inbraak {a}', '{a} inbraak, daders weg', '{a} verdachte pers in tuin', 'inbr. {a}', '{a} inbraak bezig?'],
    nn=['iemand breekt in huis {a}, ik zie met lamp', 'deur kapot, spullen weg. {a} politie alstublieft'])

typ('looting', kind='hr', cat='crime', urg=[('P2', 0.95), ('P1', 0.05)], subj=None, loc='place:supermarkt', ppl=(1, 3),
    ev=[['ruit ingeslagen en mensen halen spullen weg', 'er wordt geplunderd', 'groep jongeren breekt in bij de winkel',
         'mensen klimmen door de kapotte deur naar binnen', 'personeel wordt bedreigd, winkel wordt leeggehaald',
         'ze dragen kratten eten en drank naar buiten']],
    x=['Het loopt uit de hand.', 'Ongeveer tien tot twintig personen.', '', 'Politie nodig!', 'Mensen worden boos op elkaar.'],
    tpl=['Plundering{at}! {EV}. {x}'],
    terse=['plundering {a}', 'ruit kapot {a} mensen nemen spullen', '{a} inbraak winkel', 'PLUNDERING {a}'],
    nn=['mensen pakken alles uit winkel {a}, glas kapot', 'veel jongens nemen eten uit supermarkt {a}'],
    sr_alt=(0.3, 'safety', ['high', 'critical'], ['Onrustig{at}: winkel wordt leeggehaald.', 'Situatie{at} grimmig, er wordt geplunderd.']))

typ('fight', kind='hr', cat='crime', urg=[('P2', 1)], subj=None,
    ev=[['ruzie om een aggregaat loopt uit de hand', 'vechtpartij tussen buren om benzine', 'twee mannen slaan elkaar, ging over een jerrycan',
         'harde ruzie en klappen, iemand heeft een bloedneus', 'opstootje, mannen duwen en slaan elkaar']],
    x=['', 'Omstanders proberen te sussen.', 'Kinderen kijken toe.', 'Politie graag.'],
    terse=['vechtpartij {a}', '{a} ruzie klappen', 'knokpartij {a}'],
    nn=['mannen vechten {a}, bloed', 'ruzie heel erg {a}, slaan'])

typ('knife', kind='hr', cat='crime', urg=[('P1', 0.5), ('P2', 0.5)], subj=None, ppl=(1, 6),
    ev=[['man zwaait met een mes', 'iemand bedreigt mensen met een mes', 'verwarde man met mes loopt rond',
         'man met een mes schreeuwt naar voorbijgangers', 'er staat een man met een groot mes te dreigen']],
    x=['', 'Mensen zijn weggerend.', 'Hij lijkt onder invloed.', 'Nog niemand gewond.', 'Politie met spoed!'],
    terse=['man met mes {a}', 'MES {a} politie', '{a} bedreiging mes'],
    nn=['man heeft mes {a}, gevaarlijk', 'mes! man {a} roept en dreigt'])

typ('gen_theft', kind='hr', cat='crime', urg=[('P3', 0.8), ('P4', 0.2)], subj=None,
    ev=[['aggregaat gestolen uit de tuin', 'onze generator is vannacht gestolen', 'het aggregaat van de buren is meegenomen',
         'stroomgenerator uit de achtertuin gejat'],
        ['jerrycans diesel weg uit de schuur', 'iemand heeft de brandstofvoorraad gestolen', 'diesel gestolen, schuur opengebroken'],
        ['benzine uit de auto afgetapt', 'tankdop opengebroken en tank leeggehaald', 'brandstof uit de auto gestolen']],
    x=['', 'Gebeurde vannacht.', 'Sporen op het gras.', 'Aangifte doen kan nu niet.'],
    terse=['diefstal aggregaat {a}', '{a} diesel gestolen', 'diefstal {a}'],
    nn=['machine voor stroom gestolen, {a}', 'benzine weg uit auto {a}'])

typ('cold', kind='hr', cat='vulnerable_person', urg=[('P2', 0.45), ('P3', 0.55)], subj='elderly',
    ev=[['zit in een huis van 9 graden', 'ligt rillend onder de dekens', 'heeft geen verwarming en lijkt onderkoeld',
         'heeft ijskoude handen en praat verward', 'zit al twee dagen zonder verwarming',
         'ligt met jas en muts in bed en is nog steeds koud', 'krijgt het huis niet warm, binnen is het {temp} graden',
         'is erg koud en suf, lippen wat paars', 'rilt en wil niet eten of drinken']],
    x=['Woont alleen.', 'Kan niet zelf naar een warme plek.', 'Loopt met rollator.', '', 'Dochter woont ver weg.',
       'Graag vervoer naar de opvang.', 'Heeft geen extra dekens.'],
    terse=['koud huis oudere {a}', '{a} oudere onderkoeld', '{a} {temp} gr binnen, oudere alleen', 'onderkoeling {a}', '{a} kou, geen verwarming'],
    nn=['{p2} heel koud in huis, trillen, geen warm. {a}', '{p2} is alleen en heel koud, kan niet lopen. {a}'])

typ('alone_care', kind='hr', cat='vulnerable_person', urg=[('P2', 0.4), ('P3', 0.6)], subj='elderly',
    ev=[['is bedlegerig en de thuiszorg is niet gekomen', 'ligt op bed en niemand van de thuiszorg is geweest',
         'heeft al een dag geen verzorging gehad en kan niet uit bed'],
        ['is dementerend en alleen thuis, de mantelzorger kan niet komen', 'is dement en dwaalt door het huis, niemand bij {hem}',
         'heeft dementie, de dochter kan niet komen door de storing'],
        ['zit in een rolstoel op de vierde verdieping en de lift doet het niet', 'kan niet naar beneden, rolstoel en geen lift',
         'zit vast boven in de flat met een rolstoel'],
        ['is blind en heeft geen eten meer in huis', 'is slechtziend, alleen, eten is op en het fornuis werkt niet',
         'kan in het donker niets zien en heeft niets meer te eten']],
    x=['', 'Graag iemand langs sturen.', 'Woont alleen.', 'Buren gaan vandaag weg.', 'Heeft geen familie in de buurt.'],
    terse=['hulpbehoevende alleen {a}', '{a} thuiszorg niet gekomen', '{a} rolstoel, lift stuk', 'oudere zonder eten {a}'],
    nn=['{p2} alleen, kan niet zelf, niemand komt. {a}', '{p2} heeft hulp nodig, zorg komt niet. {a}'])

typ('baby', kind='hr', cat='vulnerable_person', urg=[('P3', 0.7), ('P2', 0.3)], subj='household', ppl=(2, 4), vuln=(1, 2),
    ev=[['hebben een baby van een paar maanden en kunnen de flesvoeding niet opwarmen', 'kunnen geen warme fles voor de baby maken',
         'hebben geen warm water voor de babyvoeding'],
        ['hebben een pasgeboren tweeling en het huis is ijskoud', 'hebben twee baby\'s in een koud huis',
         'zitten met een tweeling van drie weken zonder verwarming'],
        ['hebben geen flesvoeding meer voor de baby', 'de babymelk is op en de winkels zijn dicht', 'zoeken dringend zuigelingenvoeding']],
    x=['', 'Moeder is erg ongerust.', 'Graag iets regelen.', 'Kunnen wel naar de opvang als er vervoer is.'],
    terse=['baby voeding nodig {a}', '{a} baby koud huis', 'flesvoeding op {a}'],
    nn=['baby heeft geen melk, {a}', 'kleine baby heel koud, {a}'])

typ('elevator', kind='hr', cat='other', urg=[('P2', 0.7), ('P3', 0.3)], subj='any_old', loc='flat',
    ev=[['zit vast in de lift sinds de stroom uitviel', 'is opgesloten in de lift tussen twee verdiepingen',
         'zit al uren in de lift, de noodknop werkt niet', 'is in de lift blijven steken']],
    x=['', 'Is claustrofobisch.', 'We horen {hem} roepen.', 'Heeft geen water bij zich.'],
    terse=['lift vast {a}', '{a} pers in lift', 'opgesloten lift {a}'],
    nn=['{p2} in lift, lift stopt, kan niet uit. {a}'])

typ('basement', kind='hr', cat='other', urg=[('P3', 0.7), ('P4', 0.3)], subj=None,
    ev=[['kelder loopt onder, de pomp werkt niet zonder stroom', 'water staat in de kelder, dompelpomp ligt stil',
         'souterrain loopt vol met water', 'het water in de kelder stijgt, cv-ketel staat er']],
    x=['', 'Graag een pomp.', 'Staat al 20 cm.'],
    terse=['kelder onder water {a}', '{a} water in kelder, pomp uit'],
    nn=['water in kelder, veel, {a}'])

typ('gas', kind='hr', cat='other', urg=[('P2', 0.9), ('P1', 0.1)], subj=None,
    ev=[['sterke gaslucht', 'het ruikt heel sterk naar gas bij de meterkast', 'gaslucht in het portiek',
         'mensen zijn naar buiten gegaan vanwege gaslucht', 'sissend geluid en gaslucht bij de gevel']],
    x=['', 'Niemand durft naar binnen.', 'Iemand stak net een kaars aan!', 'Kan iemand de gaskraan dichtdraaien?'],
    terse=['gaslucht {a}', '{a} gas lucht sterk', 'GASLUCHT {a}'],
    nn=['ruikt naar gas {a}, gevaar', 'gas ruik heel sterk {a}'],
    sr_alt=(0.35, 'safety', ['high', 'critical'], ['Gaslucht gemeld{at}.', 'Sterke gaslucht{at}, omgeving mijden.']))

typ('car_ditch', kind='hr', cat='medical', urg=[('P1', 0.4), ('P2', 0.6)], subj=None, ppl=(1, 2),
    ev=[['auto in de sloot', 'auto van de weg geraakt en in het water beland', 'auto ligt op zijn kop in de sloot, bestuurder nog binnen?',
         'ongeluk, auto in het water naast de weg']],
    x=['', 'Het is donker, geen straatverlichting.', 'Boer probeert de bestuurder eruit te halen.', 'Bestuurder is gewond.'],
    terse=['auto in sloot {a}', '{a} ongeluk auto water'],
    nn=['auto in water {a}, man binnen'])

typ('farm', kind='hr', cat='other', urg=[('P3', 0.7), ('P2', 0.3)], subj=None,
    ev=[['koeien kunnen niet gemolken worden, melkmachine werkt niet zonder stroom', 'de melkrobot ligt stil, dieren hebben pijn',
         'boer heeft dringend een aggregaat nodig voor het melken'],
        ['stalventilatie ligt stil, varkens in nood', 'in de varkensstal valt de ventilatie weg, dieren gaan dood',
         'ventilatie van de stal doet het niet, het wordt te heet voor de dieren']],
    x=['', 'Graag een aggregaat.', 'Al sinds gisteren.'],
    terse=['aggregaat nodig boerderij {a}', '{a} stal ventilatie uit'],
    nn=['koeien niet melken, machine stroom uit. {a}'])

# situation-report types
typ('tree', kind='sr', srcat='infrastructure', sev=['moderate', 'moderate', 'high'], subj=None,
    ev=[['boom over de weg', 'omgevallen boom blokkeert de straat', 'grote tak op de rijbaan, auto\'s kunnen er niet langs',
         'weg versperd door omgewaaide boom', 'boom ligt dwars over de straat'],
        ['boom is op een geparkeerde auto gevallen', 'boom op auto, niemand in de auto', 'auto geplet door omgevallen boom']],
    x=['', 'Hulpdiensten kunnen er niet door.', 'Fietsers kunnen er net langs.', 'Graag afzetten.'],
    terse=['boom op weg {a}', '{a} boom over straat', 'weg dicht {a} boom'],
    nn=['boom valt op straat {a}'])

typ('cable', kind='sr', srcat='power', sev=['high', 'critical'], subj=None,
    ev=[['stroomkabel hangt laag over de straat', 'kabel ligt op straat en vonkt af en toe', 'losse kabel op het trottoir',
         'lantaarnpaal omver gereden, draden liggen bloot', 'afgebroken kabel hangt over het fietspad']],
    x=['', 'Kinderen spelen in de buurt.', 'Levensgevaarlijk als de stroom terugkomt.', 'Graag afzetten.'],
    terse=['kabel op straat {a}', '{a} draden bloot', 'losse kabel {a}'],
    nn=['kabel ligt op straat {a}, gevaar'])

typ('trafo', kind='sr', srcat='power', sev=['moderate', 'high'], subj=None,
    ev=[['transformatorhuisje zoemt heel hard', 'harde brom uit het trafohuisje', 'het trafostation maakt raar geluid'],
        ['gloed en rook uit het trafohuisje', 'rook bij het transformatorhuis', 'knallen en rook bij het trafostation'],
        ['deur van het trafostation staat open, kinderen spelen erbij', 'trafohuisje opengebroken, deur staat open']],
    x=['', 'Netbeheerder informeren.', 'Mensen lopen er dichtbij.'],
    terse=['trafo {a}', '{a} trafohuisje', 'transformator {a} probleem'],
    nn=['stroomhuisje maakt geluid {a}'])

typ('pipe', kind='sr', srcat='water', sev=['moderate', 'high'], subj=None,
    ev=[['waterleiding gesprongen, straat staat blank', 'water spuit uit de stoep', 'grote plas water op de weg, leiding lek',
         'hoofdleiding lek, water loopt de tuinen in']],
    x=['', 'Druk op de kraan valt weg in de buurt.', 'Vriest straks aan.'],
    terse=['waterlek {a}', '{a} leiding kapot, water op straat'],
    nn=['water komt uit straat {a}'])

typ('crossing', kind='sr', srcat='infrastructure', sev=['moderate', 'high'], subj=None,
    ev=[['verkeerslichten uit, de kruising is een chaos', 'bijna-ongelukken op de kruising, geen stoplichten',
         'auto\'s rijden door elkaar op de kruising', 'verkeer staat vast op het kruispunt']],
    x=['', 'Verkeersregelaar nodig.', 'Al twee aanrijdingen bijna.'],
    terse=['kruising chaos {a}', '{a} stoplichten uit'],
    nn=['auto\'s rijden door elkaar {a}'])

typ('crowd', kind='sr', srcat='public_mood', sev=['moderate', 'high'], subj=None, loc='place:supermarkt',
    ev=[['lange rij en de stemming is grimmig', 'mensen zijn boos en duwen', 'geschreeuw in de rij, beveiliging kan het niet aan',
         'spanning loopt op, winkel laat maar tien mensen tegelijk binnen', 'mensen schelden op het personeel']],
    x=['', 'Kan escaleren.', 'Graag politie of BOA.'],
    terse=['onrust rij {a}', '{a} grimmig, duwen'],
    nn=['mensen boos bij winkel {a}'])

typ('pharmacy', kind='sr', srcat='health', sev=['moderate', 'high'], subj=None, loc='place:apotheek',
    ev=[['apotheek is dicht en er staan mensen voor de deur', 'veel mensen wachten op medicijnen bij de apotheek',
         'apotheek kan zonder stroom geen recepten zien, lange rij']],
    x=['', 'Ook mensen met insuline.', 'Sommigen wachten al uren.'],
    terse=['apotheek dicht {a} rij'], nn=['apotheek dicht, mensen wachten'])

typ('sewage', kind='sr', srcat='water', sev=['moderate', 'high'], subj=None,
    ev=[['riool loopt over, gemaal heeft geen stroom', 'rioolwater komt uit de putten', 'het stinkt enorm, putten lopen over']],
    x=['', 'Kinderen spelen in het water.', 'Kelders lopen vol.'],
    terse=['riool loopt over {a}'], nn=['vies water uit straat {a}'])

typ('bridge', kind='sr', srcat='infrastructure', sev=['high'], subj=None, loc='place:brug',
    ev=[['brug staat open en kan niet dicht', 'brug werkt niet, omrijden is heel ver', 'brug zit vast, hulpdiensten kunnen er niet over']],
    x=['', 'Mensen klimmen over de hekken.', 'Graag doorgeven aan de gemeente.'],
    terse=['brug vast {a}'], nn=['brug open, kan niet over'])

typ('dike', kind='sr', srcat='water', sev=['high', 'critical'], subj=None,
    ev=[['kwelwater achter de dijk', 'water sijpelt onder de dijk door', 'natte plekken aan de binnenkant van de dijk',
         'zandmeevoerende wel achter de dijk volgens een boer']],
    x=['', 'Gemaal ligt stil.', 'Waterschap graag laten kijken.'],
    terse=['kwel dijk {a}'], nn=['water komt door dijk {a}'])

typ('cattle', kind='sr', srcat='safety', sev=['moderate'], subj=None,
    ev=[['koeien lopen los op de weg', 'vee is uitgebroken en loopt op de dijk', 'paarden op de rijbaan']],
    x=['', 'Gevaarlijk in het donker.'], terse=['koeien op weg {a}'], nn=['koeien op straat {a}'])

REG_WEIGHTS = {
  'velderhoven': dict(cardiac=2, breathing=6, oxygen=5, fall=8, medication=6, chest=2, co=3, house_fire=5, shed_fire=3,
                      kast_fire=3, candle_fire=3, burglary=6, looting=2, fight=2, knife=1, gen_theft=3, cold=9, alone_care=6,
                      baby=3, elevator=3, basement=2, gas=3, tree=4, cable=3, trafo=2, pipe=3, crossing=2, crowd=2,
                      pharmacy=1, sewage=2, bridge=1, missing_child=2, missing_elderly=3),
  'maasveld': dict(cardiac=2, breathing=5, oxygen=4, fall=7, medication=5, chest=2, co=3, house_fire=4, shed_fire=4,
                   kast_fire=2, candle_fire=3, burglary=4, looting=1, fight=1, knife=1, gen_theft=4, cold=8, alone_care=5,
                   baby=2, basement=2, gas=2, tree=5, cable=3, trafo=2, pipe=2, crowd=1, pharmacy=1, sewage=1, bridge=1,
                   dike=2, cattle=2, car_ditch=2, farm=3, missing_child=2, missing_elderly=3),
}

# ----------------------------------------------------------------------------- missing persons
CLOTHES_CHILD = [['een rode jas', 'een rode winterjas', 'een felrode jas', 'rode jas met capuchon'],
                 ['een gele regenjas en een blauwe muts', 'gele regenjas, blauwe muts', 'een geel regenjack met muts'],
                 ['een groene jas met capuchon', 'groene jas', 'een donkergroene parka'],
                 ['een roze winterjas', 'roze jas', 'een roze jas met bontkraag'],
                 ['een zwart trainingspak', 'zwarte trainingsbroek en vest', 'zwart joggingpak'],
                 ['een blauwe jas en laarzen', 'blauwe jas, rubberlaarzen', 'donkerblauw jack met laarzen']]
CLOTHES_OLD = [['pyjama en pantoffels', 'alleen een pyjama en sloffen', 'pyjama, geen jas'],
               ['een bruine jas en een pet', 'bruine jas, pet op', 'bruine winterjas met pet'],
               ['geen jas, alleen een vest', 'een grijs vest zonder jas', 'een dun vestje'],
               ['een lange beige regenjas', 'beige jas', 'lichte regenjas']]

MC_TPL = {
  'parent': ['Mijn {zoon} {name} ({age}) is sinds {tijd} zoek. {Hij} droeg {kl}. Laatst gezien {ls}.',
             'Ik kan mijn {zoontje} niet vinden! {name}, {age} jaar, {kl}. Was aan het spelen {ls}.',
             '{name} is weg, mijn {kind} van {age}. Draagt {kl}. Help alstublieft zoeken!!',
             'Wij zoeken onze {zoon} {name}, {age} jr. Sinds {tijd} niet meer gezien, {kl}.'],
  'neighbour': ['{Buurkind} {name} wordt vermist, de ouders zijn radeloos. Draagt {kl}. Laatst gezien {ls}.',
                'De buren zoeken hun {kind} van {age}, {name}. {kl_c}. Sinds {tijd} weg.',
                'Kind van de buren vermist: {name} ({age}), {kl}. Hele straat is aan het zoeken.'],
  'shop': ['Een moeder kwam in paniek binnen, ze zoekt haar {zoontje} van {age} met {kl}.',
           'Een vader zoekt zijn {kind} ({age}) met {kl}, was eerder {ls}.',
           'Winkelier meldt: ouder zoekt {kind} van ongeveer {age} jaar, {kl}.'],
  'volunteer': ['Vermist kind: {name}, {age} jr, {kl}, laatst gezien {ls} rond {tijd}.',
                'VERMIST {kind2} {age} JAAR, {kl}, {ls}', 'vermissing {kind2} {age}jr {kl} ls {ls}'],
  'nn': ['mijn {kind} is weg, {age} jaar, {kl}, alstublieft zoeken', 'kind {name} kwijt, {age}, {kl}. help']}
ME_TPL = {
  'family': ['Mijn {rel} ({age}) heeft dementie en is niet thuisgekomen. {Hij} draagt {kl}.',
             '{rel_c} {name} is sinds {tijd} weg, {hij} is dementerend en draagt {kl}.',
             'Wij zoeken {onze} {rel}, {age} jaar, dement, {kl}. Laatst gezien {ls}.'],
  'neighbour': ['{Buur} {name} ({age}) dwaalt, is sinds {tijd} weg uit huis. Draagt {kl}.',
                'Dementerende {buur_l} van {age} wordt vermist, {kl}.'],
  'sighting': ['Er loopt een verwarde oudere {mv} met {kl} op straat, weet niet waar {hij} woont.',
               'Oude {mv} in {kl} gezien {ls}, leek de weg kwijt.',
               'Verwarde {mv} ({age}?) dwaalt rond, {kl}. Misschien vermist?'],
  'volunteer': ['Vermist: {name}, {age} jaar, dementie, {kl}, laatst gezien {ls}.',
                'VERMIST {mv2} {age} jr dement {kl}'],
  'nn': ['{rel} is weg, hoofd is ziek, vergeet alles. {kl}. alstublieft zoeken']}

# ----------------------------------------------------------------------------- area-wide topics (no location)
TOPICS = {
  'info_water': ('information_need', ['low', 'moderate'], [
     'Veel mensen vragen waar ze drinkwater kunnen halen.', 'Waar is een waterpunt? Die vraag komt steeds terug.',
     'Bewoners willen weten waar flessen water uitgedeeld worden.', 'Vraag: is er een tappunt voor water in de buurt?',
     'MENSEN VRAGEN WAAR WATER TE HALEN IS', 'mensen vragen waar water te halen is',
     'Drie gezinnen vragen waar ze water kunnen krijgen, kraan doet het niet.', 'waar kunnen mensen water halen? vraag van veel bezoekers',
     'Steeds meer vragen over drinkwater, waar is een uitgiftepunt?', 'Info nodig: waterpunten in de gemeente?']),
  'info_tapwater_safe': ('information_need', ['low', 'moderate'], [
     'Mensen vragen of het kraanwater nog veilig is om te drinken.', 'Moet kraanwater gekookt worden? Veel vragen.',
     'Is het leidingwater drinkbaar? Bezoekers twijfelen.', 'vraag of je water uit de kraan kan drinken zonder koken']),
  'info_power': ('information_need', ['low', 'moderate'], [
     'Iedereen vraagt wanneer de stroom terugkomt.', 'Vraag van bezoekers: hoe lang duurt de storing nog?',
     'wanneer is er weer stroom?? mensen worden ongeduldig', 'Mensen willen weten of de stroom vandaag nog terugkomt.',
     'Graag info over herstel van de stroom, we krijgen veel vragen.', 'Bewoners vragen naar een verwachte hersteltijd van de stroom.']),
  'info_charge': ('information_need', ['low'], [
     'Mensen vragen waar ze hun telefoon kunnen opladen.', 'Is er ergens een oplaadpunt voor telefoons?',
     'Veel vragen over opladen van mobiel en powerbanks.', 'vraag: waar kan ik mijn telefoon laden']),
  'info_medicine': ('information_need', ['moderate'], [
     'Bewoners vragen hoe ze aan hun medicijnen komen nu de apotheek dicht is.', 'Vragen over medicijnen: waar kan men terecht?',
     'Mensen willen weten of er een noodapotheek is.', 'Hoe kom je aan herhaalrecepten? Veel vragen hierover.']),
  'info_warmth': ('information_need', ['moderate'], [
     'Mensen vragen of er een warme opvanglocatie is.', 'Waar kunnen ouderen zich warmen? Vraag komt vaak.',
     'Is er een plek waar mensen kunnen slapen met verwarming?', 'Vraag naar warmteopvang voor de nacht.']),
  'info_fuel': ('information_need', ['low', 'moderate'], [
     'Veel vragen waar diesel of benzine te krijgen is voor aggregaten.', 'Tankstations werken niet, waar kan brandstof vandaan?',
     'Mensen vragen of er brandstof wordt uitgedeeld voor aggregaten.']),
  'rumour_water': ('rumour', ['moderate', 'high'], [
     'Gerucht gaat rond dat het kraanwater vergiftigd is.', 'Mensen zeggen dat je het water niet mag drinken, het zou besmet zijn.',
     'Verhaal op straat: waterleiding verontreinigd, klopt dat?', 'gerucht: water uit de kraan maakt mensen ziek',
     'Bezoekers geloven dat het drinkwater giftig is, paniek.']),
  'rumour_looting': ('rumour', ['moderate', 'high'], [
     'Gerucht dat er plunderaars door de wijk trekken.', 'Mensen zeggen dat er vannacht overal ingebroken gaat worden.',
     'Verhaal gaat rond over bendes die huizen leeghalen.', 'Veel angst door gerucht over plunderingen.']),
  'rumour_power': ('rumour', ['low', 'moderate'], [
     'Gerucht: de stroom komt pas over een week terug.', 'Mensen zeggen dat de stroom vanavond om 18 uur terugkomt.',
     'Er gaat rond dat de storing nog weken duurt.', 'Iemand vertelt dat de stroom morgen terug is, klopt dat?']),
  'rumour_evac': ('rumour', ['moderate', 'high'], [
     'Gerucht dat het gebied geëvacueerd moet worden.', 'Mensen denken dat iedereen weg moet, is er een evacuatie?',
     'Verhaal dat de dijk het niet houdt en iedereen weg moet.', 'Gerucht over verplichte evacuatie, mensen pakken spullen in.']),
  'mood': ('public_mood', ['moderate', 'high'], [
     'Stemming onder bezoekers slaat om, mensen zijn boos over gebrek aan informatie.', 'Veel frustratie, mensen voelen zich in de steek gelaten.',
     'Bezoekers worden ongeduldig en agressief naar vrijwilligers.', 'Sfeer is gespannen, mensen willen antwoorden.',
     'mensen zijn moe en boos, sommige schreeuwen tegen de vrijwilligers']),
}
TOPICS_B_EXTRA = {
  'info_veer': ('information_need', ['low'], [
     'Mensen vragen of de veerpont nog vaart.', 'Vaart het veer bij Ommelo? Veel vragen.', 'vraag: kan je nog met de pont over?']),
  'info_farm': ('information_need', ['moderate'], [
     'Boeren vragen waar ze aggregaten kunnen lenen voor het melken.', 'Veehouders zoeken stroom voor de melkmachines.',
     'Vraag van agrariërs: is er hulp met aggregaten voor stallen?']),
}

# ----------------------------------------------------------------------------- engine
class Ctx:
    pass

def setup_region(key):
    reg = REGIONS[key]
    c = Ctx(); c.key = key; c.reg = reg
    c.rows, c.streets = build_gazetteer(reg)
    default_wp = list(reg['areas'].values())[0][3]
    def skey(s):
        return s if isinstance(s, tuple) else (s, default_wp)
    c.skey = skey
    c.places = []
    for naam, soort, st, nr, al in reg['places']:
        h = c.streets[skey(st)]['houses'][nr]
        lat, lon = h['lat'], h['lon']
        if soort in ('park', 'brug', 'plein'):
            lat, lon = move(lat, lon, R.uniform(-30, 30), R.uniform(-30, 30))
        c.places.append(dict(naam=naam, soort=soort, street=skey(st)[0], woonplaats=h['woonplaats'], nr=nr, lat=lat, lon=lon,
                             aliases=al, house=h))
    c.nsps = []
    for nid, name, st, nr in reg['nsps']:
        h = c.streets[skey(st)]['houses'][nr]
        c.nsps.append(dict(nsp_id=nid, name=name, address='%s %d, %s' % (h['street'], nr, h['woonplaats']),
                           lat=round(h['lat'], 6), lon=round(h['lon'], 6), woonplaats=h['woonplaats']))
    return c

def house_loc(h, letter=None, toev=None):
    v = R.choice(h['variants'])
    return dict(street=h['street'], nr=h['nr'], woonplaats=h['woonplaats'], postcode=h['postcode'], lat=h['lat'],
                lon=h['lon'], letter=v[0] if letter is None else letter, toev=v[1] if toev is None else toev, area=h['area'])

def get_loc(c, street, nr, wp=None, toev=None):
    k = (street, wp) if wp else c.skey(street)
    return house_loc(c.streets[k]['houses'][nr], toev=toev)

def random_loc(c, exclude=()):
    sts = [s for s in c.streets.values()]
    while True:
        st = R.choices(sts, weights=[s['n'] for s in sts])[0]
        nr = R.randint(1, st['n'])
        if (st['name'], nr) in exclude:
            continue
        return house_loc(st['houses'][nr])

def place_loc(c, soort):
    pl = R.choice([p for p in c.places if p['soort'] == soort])
    loc = house_loc(pl['house'], letter='', toev='')
    loc['lat'], loc['lon'] = pl['lat'], pl['lon']
    loc['place'] = pl
    return loc

def flat_loc(c):
    k = R.choice(list(c.reg['flats'].keys()))
    h = c.streets[c.skey(k[0])]['houses'][k[1]]
    return house_loc(h)

def nearby_place(c, loc, maxd=160):
    if loc.get('place'):
        return loc['place'], False
    best = None
    for p in c.places:
        d = dist((loc['lat'], loc['lon']), (p['lat'], p['lon']))
        if d < maxd and (best is None or d < best[0]):
            best = (d, p)
    return (best[1], True) if best else (None, False)

def choose_nsp(c, loc):
    if loc is None:
        return R.choice(c.nsps)['nsp_id']
    ws = []
    for n in c.nsps:
        d = dist((loc['lat'], loc['lon']), (n['lat'], n['lon']))
        w = 1.0 / (d + 400.0) ** 2
        if c.reg['rural'] and n['woonplaats'] == loc['woonplaats']:
            w *= 6
        ws.append(w)
    return R.choices(c.nsps, weights=ws)[0]['nsp_id']

BUILDING_DESC = ['achterom via de tuin', 'bovenwoning', 'groene voordeur', 'hoekhuis', 'achter de garage', 'tweede etage',
                 'naast de snackbar', 'bij de bushalte', 'wit huis met rieten dak', 'oprit met hek', 'tegenover het speeltuintje',
                 'bel werkt niet, hard kloppen', 'zijdeur gebruiken']

def at_phrase(c, loc, style):
    """location as it appears inside the free text; returns (at, bare)"""
    pl, rel = nearby_place(c, loc)
    r = R.random()
    if pl and r < (0.55 if loc.get('place') else 0.25):
        pl = dict(pl); pl['rel'] = rel
        ph = place_phrase(pl)
        if c.reg['rural'] and R.random() < 0.4:
            ph += ' in ' + pl['woonplaats']
        if style in ('terse', 'nn'):
            return ' ' + ph, ph
        if ph.startswith('schoolplein'):
            return ' op het ' + ph, ph
        if ph.startswith('het schoolplein'):
            return ' op ' + ph, ph
        if ph.startswith('hk '):
            return ', ' + ph + ',', ph
        return ' ' + ph, ph
    a = render_address(c.reg, loc, need_nr=R.random() < 0.9)
    if R.random() < 0.06:
        a = loc['street'] + ' nummer ' + num_words(loc['nr'])
    if style in ('terse', 'nn'):
        return ' ' + a, a
    prep = R.choice([' op {a}', ' aan de {a}', ' ({a})', ', {a},', ' {a}', ' op {a}', ' aan {a}', ' adres {a}', ' in de {a}'])
    return prep.format(a=a), a

def render_location(c, loc, style):
    """returns (location dict or None, at, bare, mentioned)"""
    pl, rel = nearby_place(c, loc)
    modes = [('addr', 0.43), ('both', 0.2), ('pick', 0.17), ('street', 0.07), ('landmark', 0.13 if pl else 0.0)]
    mode = R.choices([m for m, _ in modes], weights=[w for _, w in modes])[0]
    L = {}
    if mode in ('addr', 'both'):
        L['address'] = render_address(c.reg, loc)
    if mode == 'street':
        L['address'] = render_address(c.reg, loc, need_nr=False)
    if mode in ('both', 'pick'):
        la, lo = jitter(loc['lat'], loc['lon'], 8, 80 if R.random() < 0.85 else 160)
        L['lat'], L['lon'] = round(la, 6), round(lo, 6)
    if mode == 'landmark':
        p2 = dict(pl); p2['rel'] = rel
        L['address'] = place_phrase(p2)
        if c.reg['rural'] and R.random() < 0.5:
            L['address'] += ', ' + pl['woonplaats']
        if R.random() < 0.3:
            la, lo = jitter(loc['lat'], loc['lon'], 8, 60)
            L['lat'], L['lon'] = round(la, 6), round(lo, 6)
    if R.random() < 0.15:
        if pl and R.random() < 0.5:
            p2 = dict(pl); p2['rel'] = rel
            L['description'] = place_phrase(p2)
        else:
            L['description'] = R.choice(BUILDING_DESC)
            if loc.get('toev'):
                L['description'] = R.choice(['%se verdieping' % R.randint(1, 6), 'flat, app %s' % loc['toev'], 'portiek links'])
    mention_p = 0.8 if mode == 'pick' else 0.3
    if style in ('terse', 'nn'):
        mention_p = 0.9 if mode == 'pick' else 0.5
    if R.random() < mention_p:
        at, bare = at_phrase(c, loc, style)
        return L, at, bare, True
    return L, '', '', False

STYLES = [('normal', 0.39), ('terse', 0.15), ('long', 0.10), ('caps', 0.06), ('nopunct', 0.11), ('nn', 0.08), ('typo', 0.11)]

def pick_style():
    return R.choices([s for s, _ in STYLES], weights=[w for _, w in STYLES])[0]

def finish_text(s, style):
    s = clean(s)
    if style in ('terse', 'typo', 'nopunct') and R.random() < 0.4:
        for a, b in [('alstublieft', 'aub'), ('ongeveer', 'ong.'), ('mevrouw', 'mw'), ('meneer', 'dhr'), ('nummer', 'nr'),
                     ('ambulance', 'ambu'), ('verdieping', 'verd.'), (' bij de ', ' bij d '), ('tegenover', 't.o.'), ('straat', 'str')]:
            if R.random() < 0.5:
                s = s.replace(a, b)
    if style == 'caps':
        s = s.upper()
    elif style == 'nopunct':
        s = ''.join(ch for ch in s if ch not in '.,!?:;()').lower()
    elif style == 'typo':
        s = typo_text(s)
    if style == 'terse' and R.random() < 0.5:
        s = s.lower()
    if len(s) > 400:
        s = s[:397].rsplit(' ', 1)[0] + '...'
    return s.strip() or 'melding'

def fmt(t, slots):
    class D(dict):
        def __missing__(self, k):
            return ''
    return t.format_map(D(slots))

def drift_urg(u):
    """other reporters sometimes judge urgency differently; rarely upgrade to P1"""
    r = R.random()
    i = int(u[1])
    if i == 1:
        return 'P2' if r < 0.10 else u
    if i == 2:
        return 'P1' if r < 0.02 else ('P3' if r < 0.18 else u)
    if r < 0.2:
        return 'P%d' % min(4, max(2, i + R.choice([-1, 1])))
    return u

def event_text(c, inc, k, style, at, bare):
    spec = T[inc['type']]
    f = inc['facts']
    ev_list = inc['ev']
    ev = ev_list[(inc['ev_off'] + k) % len(ev_list)]
    slots = dict(f['slots'])
    ev = fmt(ev, slots)
    slots.update(ev=ev, EV=cap1(ev), at=at, a=bare, AT=(cap1(bare) + ': ') if bare else '', atn=bare,
                 who=R.choice(WHO), x=fmt(R.choice(spec['x']), slots))
    if f.get('refs'):
        ref = f['refs'][(f['ref_off'] + k) % len(f['refs'])]
        slots.update(p=ref, P=cap1(ref))
        if any(ch.isdigit() for ch in ref):
            slots['age'] = ''
        slots['p2'] = R.choice(f['nnrefs']) if f.get('nnrefs') else ref
    if style in ('terse', 'nn') and not bare:
        slots['a'] = ''
    if style == 'terse' and spec['terse']:
        t = R.choice(spec['terse'])
        if '{a}' not in t and bare:
            t += ' {a}'
    elif style == 'nn' and spec['nn']:
        t = R.choice(spec['nn'])
    else:
        subj = spec['subj']
        base = GE_TPL if subj is None else (GH_TPL if subj == 'household' else GP_TPL)
        pool = spec['tpl'] + base
        t = R.choice(pool)
        if style == 'long':
            x2 = fmt(R.choice(spec['x']), slots)
            t = R.choice(EMO_PRE) + t + (' ' + x2 if x2 != slots['x'] else '') + R.choice(EMO_POST)
        if '{who}' in t and slots.get('p', '').startswith('mijn '):
            alt = [r for r in f.get('refs', []) if not r.startswith('mijn ')]
            if alt:
                ref = R.choice(alt); slots.update(p=ref, P=cap1(ref))
    if not bare:
        for junk in ('adres {a}', 'Adres {a}', ', {a},', '{a}'):
            t = t.replace(junk, '')
    return fmt(t, slots)

def missing_text(c, inc, k, style, at, bare):
    f = inc['facts']; s = dict(f['slots'])
    tpls = MC_TPL if inc['type'] == 'missing_child' else ME_TPL
    role = orig_role = f['roles'][k % len(f['roles'])]
    if style == 'nn' and orig_role not in ('shop', 'sighting'):
        role = 'nn'
    t = R.choice(tpls[role])
    s['kl'] = f['clothes'][(k + f['ref_off']) % len(f['clothes'])]
    s['kl_c'] = cap1(s['kl'])
    s['ls'] = f['lastseen'][k % len(f['lastseen'])]
    s['tijd'] = f['tijd']
    txt = fmt(t, s)
    if bare and R.random() < 0.5 and orig_role not in ('sighting', 'shop'):
        txt += R.choice([' Adres: ', ' Woont ', ' Thuisadres ', ' ']) + bare + '.'
    if style == 'long':
        txt = R.choice(EMO_PRE) + txt + R.choice(EMO_POST)
    return txt

def build_report(c, inc, k, t):
    spec = T.get(inc['type'])
    style = pick_style()
    loc = inc['loc']
    L, at, bare, mentioned = render_location(c, loc, style) if loc else (None, '', '', False)
    if inc['type'] in ('missing_child', 'missing_elderly'):
        f = inc['facts']
        role = f['roles'][k % len(f['roles'])]
        if role in ('shop', 'sighting') and f.get('seen_loc'):
            L, at, bare, mentioned = render_location(c, f['seen_loc'], style)
        desc = missing_text(c, inc, k, style, at, bare)
        u = drift_urg(inc['urg'])
        if u in ('P3', 'P4'):
            u = 'P2'
        body = dict(category='missing_person', urgency=u, people_involved=1, vulnerable_people=1,
                    description=finish_text(desc, style), location=L)
        kind = 'help_request'
    else:
        kind = 'help_request' if spec['kind'] == 'hr' else 'situation_report'
        use_alt = spec['sr_alt'] and k > 0 and R.random() < spec['sr_alt'][0]
        if use_alt:
            kind = 'situation_report'
            _, scat, sevs, tpls = spec['sr_alt']
            if not at and L is not None and 'address' in L and R.random() < 0.5:
                at = ' (' + L['address'] + ')'
            desc = fmt(R.choice(tpls), dict(at=at))
            body = dict(category=scat, severity=R.choice(sevs), description=finish_text(desc, style))
            if L is not None:
                body['location'] = L
        elif kind == 'situation_report':
            desc = event_text(c, inc, k, style, at, bare)
            body = dict(category=spec['srcat'], severity=R.choice(spec['sev']), description=finish_text(desc, style))
            if L is not None:
                body['location'] = L
        else:
            desc = event_text(c, inc, k, style, at, bare)
            ppl = inc['facts']['ppl']
            if R.random() < 0.2:
                ppl = max(1, ppl + R.choice([-1, 1]))
            vul = min(ppl, inc['facts']['vuln'])
            body = dict(category=spec['cat'], urgency=drift_urg(inc['urg']), people_involved=ppl, vulnerable_people=vul,
                        description=finish_text(desc, style), location=L)
    if kind == 'help_request':
        if R.random() < 0.3:
            body['reporter_name'] = R.choice(REPORTERS)
        if R.random() < 0.2:
            cb = R.choice(CALLBACK)
            if '%d' in cb:
                cb = cb % (R.randint(1, 40) if 'nr' in cb else (R.randint(10, 20) if 'uur' in cb else R.randint(10000000, 99999999)))
            body['callback'] = cb
    nsp = choose_nsp(c, loc) if loc else R.choice(c.nsps)['nsp_id']
    return dict(incident=inc['label'], received_at=t, kind=kind, nsp_id=nsp, body=body)

# ----------------------------------------------------------------------------- incidents
BASE = datetime.datetime(2026, 11, 23, 0, 0, 0, tzinfo=datetime.timezone.utc)
HOUR_W = {h: w for h, w in zip(range(24), [0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.0, 1.8, 2.2, 2.4, 2.4, 2.3, 2.2, 2.2, 2.2, 2.3,
                                            2.3, 2.2, 2.0, 1.8, 1.5, 1.1, 0.7, 0.4])}

def ts(day, h, m, s=None):
    return BASE + datetime.timedelta(days=day, hours=h, minutes=m, seconds=R.randint(0, 59) if s is None else s)

def random_t0():
    day = R.choice([0, 1])
    h = R.choices(list(HOUR_W), weights=list(HOUR_W.values()))[0]
    if day == 0 and h < 5:
        day = 1
    return ts(day, h, R.randint(0, 59))

def make_facts(c, typ_, loc):
    spec = T[typ_]
    f = {'slots': {}}
    subj = spec['subj']
    if subj and subj != 'household':
        kind = {'any_old': R.choice(['elderly', 'elderly', 'adult']), 'elderly': 'elderly'}.get(subj, subj)
        p = make_person(kind)
        refs = person_refs(p); R.shuffle(refs)
        f['refs'] = refs; f['ref_off'] = 0; f['nnrefs'] = nn_refs(p)
        m = p['sex'] == 'm'
        f['slots'].update(hij='hij' if m else 'zij', Hij='Hij' if m else 'Zij', hem='hem' if m else 'haar',
                          zijn='zijn' if m else 'haar', age=p['age'])
        f['ppl'] = 1 if R.random() < 0.85 else 2
        f['vuln'] = 1 if p['age'] >= 70 else (1 if typ_ in ('oxygen', 'alone_care', 'cold', 'medication') else 0)
    elif subj == 'household':
        s = R.choice(SURN)
        refs = [(h % s) if '%s' in h else h for h in HOUSEHOLD_REFS]; R.shuffle(refs)
        f['refs'] = refs; f['ref_off'] = 0; f['nnrefs'] = ['familie', 'de buren', 'mijn zus en kinderen']
        lo, hi = spec.get('ppl', (2, 4))
        f['ppl'] = R.randint(lo, hi)
        vlo, vhi = spec.get('vuln', (1, 2))
        f['vuln'] = min(f['ppl'], R.randint(vlo, vhi))
        f['slots'].update(hij='ze', Hij='Ze', hem='hen', zijn='hun', age='')
    else:
        lo, hi = spec.get('ppl', (1, 2))
        f['ppl'] = R.randint(lo, hi)
        f['vuln'] = min(f['ppl'], R.choice([0, 0, 0, 1]))
    f['slots'].update(temp=R.choice([7, 8, 9, 10, 11, 12]), hrs=R.randint(1, 4), n=f.get('ppl', 1))
    return f

def make_missing_facts(c, typ_, loc):
    sex = R.choice('mf')
    f = {'slots': {}}
    if typ_ == 'missing_child':
        age = R.randint(4, 12)
        name = R.choice(FN_M[10:] if sex == 'm' else FN_F[6:])
        m = sex == 'm'
        f['slots'] = dict(name=name, age=age, zoon='zoon' if m else 'dochter', zoontje='zoontje' if m else 'dochtertje',
                          kind='jongen' if m else 'meisje', kind2='JONGEN' if m else 'MEISJE', Hij='Hij' if m else 'Zij',
                          hij='hij' if m else 'zij', Buurkind='Het buurjongetje' if m else 'Het buurmeisje')
        f['clothes'] = R.choice(CLOTHES_CHILD)
        roles = ['neighbour', 'shop', 'volunteer', 'parent', 'neighbour']
        R.shuffle(roles)
        f['roles'] = ['parent'] + roles
        f['urg'] = 'P1' if R.random() < 0.3 else 'P2'
    else:
        age = R.randint(74, 91)
        name = R.choice(FN_M[:10] if sex == 'm' else FN_F[:6]) + ' ' + R.choice(SURN)
        m = sex == 'm'
        rel = R.choice(['vader', 'man', 'opa']) if m else R.choice(['moeder', 'vrouw', 'oma'])
        f['slots'] = dict(name=name, age=age, rel=rel, rel_c=cap1('mijn ' + rel), onze='onze', Hij='Hij' if m else 'Zij',
                          hij='hij' if m else 'zij', Buur='Buurman' if m else 'Buurvrouw', buur_l='buurman' if m else 'buurvrouw',
                          mv='man' if m else 'vrouw', mv2='MAN' if m else 'VROUW')
        f['clothes'] = R.choice(CLOTHES_OLD)
        roles = ['neighbour', 'sighting', 'volunteer', 'sighting']
        R.shuffle(roles)
        f['roles'] = ['family'] + roles
        f['urg'] = 'P2' if R.random() < 0.9 else 'P1'
    # where last seen: a nearby place or a nearby street
    cands = sorted(c.places, key=lambda p: dist((loc['lat'], loc['lon']), (p['lat'], p['lon'])))[:4]
    sp = R.choice(cands)
    seen = house_loc(sp['house'], letter='', toev=''); seen['lat'], seen['lon'] = sp['lat'], sp['lon']; seen['place'] = sp
    f['seen_loc'] = seen
    al = R.choice(sp['aliases'])
    f['lastseen'] = ['bij ' + al, 'in de buurt van ' + al, 'bij ' + sp['naam'], 'in de ' + loc['street'], 'bij ' + al]
    f['tijd'] = '%d:%02d' % (R.randint(7, 17), R.choice([0, 15, 30, 45]))
    f['ref_off'] = R.randint(0, 5)
    return f

SIZE_W = [(1, 38), (2, 12), (3, 14), (4, 13), (5, 11), (6, 8), (7, 4)]
SIZE_W_BIG = [(1, 10), (2, 15), (3, 20), (4, 18), (5, 15), (6, 12), (7, 6)]
BIG_TYPES = {'house_fire', 'knife', 'looting', 'missing_child', 'crowd', 'kast_fire', 'bridge', 'missing_elderly'}

def rand_size(typ_):
    w = SIZE_W_BIG if typ_ in BIG_TYPES else SIZE_W
    return R.choices([s for s, _ in w], weights=[x for _, x in w])[0]

def new_incident(c, typ_, loc, t0, size, group=None):
    inc = dict(type=typ_, loc=loc, t0=t0, size=size, group=group)
    if typ_ in ('missing_child', 'missing_elderly'):
        inc['facts'] = make_missing_facts(c, typ_, loc)
        inc['urg'] = inc['facts']['urg']
    else:
        spec = T[typ_]
        inc['facts'] = make_facts(c, typ_, loc)
        ev = list(R.choice(spec['ev'])); R.shuffle(ev)
        inc['ev'] = ev; inc['ev_off'] = 0
        if spec['kind'] == 'hr':
            inc['urg'] = R.choices([u for u, _ in spec['urg']], weights=[w for _, w in spec['urg']])[0]
    c.incidents.append(inc)
    return inc

def report_times(t0, size):
    if size == 1:
        return [t0]
    span = R.choice([10, 20, 30, 45, 60, 90, 120])
    offs = sorted(R.uniform(2, span) for _ in range(size - 1))
    return [t0] + [t0 + datetime.timedelta(minutes=o) for o in offs]

def loc_for_type(c, typ_):
    spec = T.get(typ_, {})
    lt = spec.get('loc', 'addr') if spec else 'addr'
    if lt.startswith('place:'):
        return place_loc(c, lt.split(':')[1])
    if lt == 'flat':
        return flat_loc(c)
    if typ_ in ('farm', 'dike', 'cattle', 'car_ditch'):
        st = R.choice([s for s in c.streets.values() if s['name'].endswith(('dijk', 'Dijk', 'weg'))])
        return house_loc(st['houses'][R.randint(1, st['n'])])
    return random_loc(c)

def hard_negatives(c):
    d = dict
    G = []
    def grp(name, why, items):
        incs = []
        for it in items:
            typ_, loc, t0, size = it[:4]
            inc = new_incident(c, typ_, loc, t0, size, group=name)
            if len(it) > 4:
                inc['urg'] = it[4]
            incs.append(inc)
        G.append(d(name=name, why=why, incidents=incs))
    if c.key == 'velderhoven':
        grp('flat-singelhof', 'same building (Sint Janssingel 40): fall in apt 3, hours later fire in apt 11',
            [('fall', get_loc(c, 'Sint Janssingel', 40, toev='3'), ts(0, 9, 40), 2),
             ('house_fire', get_loc(c, 'Sint Janssingel', 40, toev='11'), ts(0, 15, 10), 4, 'P2')])
        lin = place_loc(c, 'zorgcentrum')
        grp('care-home-delinde', 'same care home, two different residents within 35 min',
            [('breathing', lin, ts(0, 11, 0), 2), ('fall', dict(lin), ts(0, 11, 35), 2)])
        grp('kastanjelaan-same-time', 'same street within 30 min: fallen tree, burglary, gas smell',
            [('tree', get_loc(c, 'Kastanjelaan', 5), ts(1, 8, 10), 3), ('burglary', get_loc(c, 'Kastanjelaan', 17), ts(1, 8, 25), 2),
             ('gas', get_loc(c, 'Kastanjelaan', 24), ts(1, 8, 40), 2)])
        grp('vermeerstraat-cold-neighbours', 'two separate cold elderly households 20 m apart (nr 14 and 16)',
            [('cold', get_loc(c, 'Vermeerstraat', 14), ts(0, 16, 0), 2), ('cold', get_loc(c, 'Vermeerstraat', 16), ts(0, 16, 50), 2)])
        grp('tulpstraat-cold-neighbours', 'two separate cold households next door (nr 6 and 8)',
            [('cold', get_loc(c, 'Tulpstraat', 6), ts(1, 19, 0), 2), ('cold', get_loc(c, 'Tulpstraat', 8), ts(1, 19, 30), 1)])
        grp('beuken-berken', 'similar street names, same number, fires 25 min apart (Beukenlaan 7 stroomkast / Berkenlaan 7 schuur)',
            [('kast_fire', get_loc(c, 'Beukenlaan', 7), ts(0, 13, 0), 3), ('shed_fire', get_loc(c, 'Berkenlaan', 7), ts(0, 13, 25), 2)])
        grp('rozenlaan-rozenstraat', 'similar street names, same number, two different falls',
            [('fall', get_loc(c, 'Rozenlaan', 12), ts(1, 10, 0), 2), ('fall', get_loc(c, 'Rozenstraat', 12), ts(1, 12, 30), 2)])
        grp('dehoeven-two-cardiac', 'two different cardiac arrests ~25 min apart in De Hoeven',
            [('cardiac', get_loc(c, 'Prins Bernhardstraat', 20), ts(1, 14, 5), 4), ('cardiac', get_loc(c, 'Frans Halsstraat', 9), ts(1, 14, 30), 3)])
        grp('molenstraat-molenweg', 'similar street names, same number, two house fires same evening',
            [('house_fire', get_loc(c, 'Molenstraat', 15), ts(0, 19, 0), 3, 'P2'), ('house_fire', get_loc(c, 'Molenweg', 15), ts(0, 21, 40), 3, 'P1')])
        e8 = get_loc(c, 'Eikenlaan', 8)
        grp('eikenlaan8-same-household', 'same household: cold in the morning, CO poisoning (bbq inside) in the evening',
            [('cold', e8, ts(0, 8, 30), 2), ('co', dict(e8), ts(0, 18, 45), 3, 'P1')])
        grp('hoogstraat-two-p1', 'two different P1 medical emergencies 4 houses apart within 10 min',
            [('chest', get_loc(c, 'Hoogstraat', 40), ts(1, 17, 0), 2, 'P1'), ('breathing', get_loc(c, 'Hoogstraat', 44), ts(1, 17, 10), 2, 'P1')])
    else:
        grp('kerkstraat8-two-villages', 'Kerkstraat 8 in Hulsveld vs Kerkstraat 8 in Ravenhorst, both house fires same afternoon',
            [('house_fire', get_loc(c, 'Kerkstraat', 8, 'Hulsveld'), ts(0, 14, 0), 4, 'P1'),
             ('house_fire', get_loc(c, 'Kerkstraat', 8, 'Ravenhorst'), ts(0, 16, 30), 3, 'P2')])
        grp('dorpsstraat-cold-two-villages', 'Dorpsstraat 12 Hulsveld vs Dorpsstraat 14 Ommelo, both cold elderly',
            [('cold', get_loc(c, 'Dorpsstraat', 12, 'Hulsveld'), ts(0, 10, 0), 2),
             ('cold', get_loc(c, 'Dorpsstraat', 14, 'Ommelo'), ts(0, 10, 40), 2)])
        grp('dorpsstraat20-two-villages', 'Dorpsstraat 20 Ravenhorst (fall) vs Dorpsstraat 20 Hulsveld (breathing) 30 min apart',
            [('fall', get_loc(c, 'Dorpsstraat', 20, 'Ravenhorst'), ts(1, 9, 0), 2),
             ('breathing', get_loc(c, 'Dorpsstraat', 20, 'Hulsveld'), ts(1, 9, 30), 2, 'P2')])
        grp('schoolstraat9-two-villages', 'burglary Schoolstraat 9 Hulsveld vs Schoolstraat 9 Ravenhorst',
            [('burglary', get_loc(c, 'Schoolstraat', 9, 'Hulsveld'), ts(0, 21, 30), 2),
             ('burglary', get_loc(c, 'Schoolstraat', 9, 'Ravenhorst'), ts(1, 7, 15), 2)])
        grp('molenweg-trees-two-villages', 'fallen trees on Molenweg in Hulsveld and Molenweg in Ommelo 25 min apart',
            [('tree', get_loc(c, 'Molenweg', 10, 'Hulsveld'), ts(0, 7, 20), 3), ('tree', get_loc(c, 'Molenweg', 12, 'Ommelo'), ts(0, 7, 45), 2)])
        tb = place_loc(c, 'zorgcentrum')
        grp('terborch-two-residents', 'same care home: fall of one resident, oxygen problem of another, 20 min apart',
            [('fall', tb, ts(1, 13, 0), 2), ('oxygen', dict(tb), ts(1, 13, 20), 2, 'P2')])
        grp('heuvelstraat-cold-neighbours', 'separate cold households next door (Heuvelstraat 3 and 5 Ravenhorst)',
            [('cold', get_loc(c, 'Heuvelstraat', 3, 'Ravenhorst'), ts(1, 18, 0), 2), ('cold', get_loc(c, 'Heuvelstraat', 5, 'Ravenhorst'), ts(1, 18, 40), 2)])
        grp('kerkstraat-two-cardiac', 'two cardiac arrests on a Kerkstraat in different villages (Dreumelen 10, Ommelo 14) 25 min apart',
            [('cardiac', get_loc(c, 'Kerkstraat', 10, 'Dreumelen'), ts(1, 11, 0), 3), ('cardiac', get_loc(c, 'Kerkstraat', 14, 'Ommelo'), ts(1, 11, 25), 3)])
        grp('oude-maasdijk-same-time', 'same dike road within 35 min: seepage, car in ditch, loose cattle',
            [('dike', get_loc(c, 'Oude Maasdijk', 30, 'Ommelo'), ts(0, 12, 0), 3), ('car_ditch', get_loc(c, 'Oude Maasdijk', 12, 'Ommelo'), ts(0, 12, 20), 2, 'P2'),
             ('cattle', get_loc(c, 'Oude Maasdijk', 40, 'Ommelo'), ts(0, 12, 35), 2)])
        grp('hoogveld-hulsveld', 'similar street names Hoogveldseweg 7 (Ommelo) / Hulsveldseweg 7 (Dreumelen), shed fires 40 min apart',
            [('shed_fire', get_loc(c, 'Hoogveldseweg', 7, 'Ommelo'), ts(1, 20, 0), 2), ('shed_fire', get_loc(c, 'Hulsveldseweg', 7, 'Dreumelen'), ts(1, 20, 40), 2)])
        br = get_loc(c, 'Broekweg', 30, 'Dreumelen')
        grp('vanrooij-farm-two-events', 'same farm: milking machine without power (day 1), barn/shed fire (day 2)',
            [('farm', br, ts(0, 9, 0), 2), ('shed_fire', dict(br), ts(1, 15, 0), 3)])
    return G

def area_topics(c):
    topics = dict(TOPICS)
    if c.reg['rural']:
        topics.update(TOPICS_B_EXTRA)
    plan = {0: ['info_water', 'info_power', 'info_charge', 'rumour_water', 'mood', 'info_warmth', 'info_tapwater_safe'],
            1: ['info_water', 'info_power', 'info_medicine', 'rumour_looting', 'rumour_power', 'info_fuel', 'rumour_evac']}
    if c.reg['rural']:
        plan[0] = plan[0][:5] + ['info_farm']
        plan[1] = plan[1] + ['info_veer', 'info_farm']
    out = []
    for day, names in plan.items():
        for nm in names:
            srcat, sevs, phr = topics[nm]
            size = R.randint(2, 7) if nm in ('info_water', 'info_power', 'rumour_water', 'mood') else R.randint(1, 4)
            times = sorted(ts(day, R.randint(7, 20), R.randint(0, 59)) for _ in range(size))
            out.append(dict(type='topic:' + nm, loc=None, t0=times[0], size=size, times=times, srcat=srcat, sevs=sevs,
                            phr=phr, day=day, group=None))
    return out

def topic_report(c, inc, k, t):
    style = R.choices(['normal', 'caps', 'nopunct', 'typo', 'terse'], weights=[55, 8, 15, 15, 7])[0]
    phr = inc['phr'][(inc['off'] + k) % len(inc['phr'])]
    if R.random() < 0.25:
        phr += R.choice([' Graag info voor de bezoekers.', ' Kan de CP hier iets over zeggen?', ' Wat moeten we zeggen?',
                         ' Graag een bericht dat we kunnen ophangen.', ''])
    nsp = R.choice(c.nsps)
    body = dict(category=inc['srcat'], severity=R.choice(inc['sevs']), description=finish_text(phr, style if style != 'terse' else 'nopunct'))
    if R.random() < 0.2:   # staff sometimes fill in their own NSP as location
        body['location'] = R.choice([{'address': nsp['address']}, {'lat': nsp['lat'], 'lon': nsp['lon']},
                                     {'address': nsp['name']}])
    return dict(incident=inc['label'], received_at=t, kind='situation_report', nsp_id=nsp['nsp_id'], body=body)

def gen_region(key, target_reports):
    c = setup_region(key)
    c.incidents = []
    groups = hard_negatives(c)
    topics = area_topics(c)
    n_rep = sum(i['size'] for i in c.incidents) + sum(t['size'] for t in topics)
    weights = REG_WEIGHTS[key]
    # P1 budget: keep P1 help requests around 10-12% of help requests (~70% of reports are help requests)
    p1_budget = 0.115 * 0.7 * target_reports
    p1_used = sum(i['size'] for i in c.incidents if i.get('urg') == 'P1')
    while n_rep < target_reports:
        typ_ = R.choices(list(weights), weights=list(weights.values()))[0]
        loc = loc_for_type(c, typ_)
        size = rand_size(typ_)
        size = min(size, target_reports - n_rep) if target_reports - n_rep < size else size
        inc = new_incident(c, typ_, loc, random_t0(), size)
        if inc.get('urg') == 'P1':
            if p1_used + size > p1_budget:
                if typ_ in ('cardiac', 'knife'):   # inherently P1: drop instead of downgrading
                    c.incidents.remove(inc)
                    continue
                inc['urg'] = 'P2'
            else:
                p1_used += size
        n_rep += size
    allinc = c.incidents + topics
    allinc.sort(key=lambda i: i['t0'])
    reports = []
    code = c.reg['code']
    for idx, inc in enumerate(allinc, 1):
        inc['label'] = '%s%03d-%s' % (code, idx, inc['type'].replace('topic:', 'area-'))
        if inc['type'].startswith('topic:'):
            inc['off'] = R.randint(0, 20)
            for k, t in enumerate(inc['times']):
                reports.append(topic_report(c, inc, k, t))
        else:
            for k, t in enumerate(report_times(inc['t0'], inc['size'])):
                reports.append(build_report(c, inc, k, t))
    reports.sort(key=lambda r: r['received_at'])
    for r in reports:
        r['received_at'] = r['received_at'].replace(microsecond=0).isoformat()
        b = r['body']
        if 'location' in b and b['location'] is None:
            del b['location']
    c.allinc = allinc; c.groups = groups; c.reports = reports
    return c

# ----------------------------------------------------------------------------- output
HR_CATS = {'medical', 'fire', 'crime', 'vulnerable_person', 'missing_person', 'other'}
SR_CATS = {'infrastructure', 'power', 'water', 'health', 'safety', 'fire', 'public_mood', 'rumour', 'information_need', 'other'}

def validate_report(r, nsp_ids):
    assert set(r) == {'incident', 'received_at', 'kind', 'nsp_id', 'body'}, r
    datetime.datetime.fromisoformat(r['received_at'])
    assert r['received_at'].endswith('+00:00')
    assert r['nsp_id'] in nsp_ids
    b = r['body']
    assert isinstance(b['description'], str) and 1 <= len(b['description']) <= 400, b
    if r['kind'] == 'help_request':
        assert b['category'] in HR_CATS
        assert b['urgency'] in ('P1', 'P2', 'P3', 'P4')
        assert isinstance(b['people_involved'], int) and b['people_involved'] >= 1
        assert isinstance(b['vulnerable_people'], int) and 0 <= b['vulnerable_people'] <= b['people_involved']
        assert 'location' in b
        assert set(b) <= {'category', 'urgency', 'people_involved', 'vulnerable_people', 'description', 'location', 'reporter_name', 'callback'}
    else:
        assert r['kind'] == 'situation_report'
        assert b['category'] in SR_CATS
        assert b['severity'] in ('low', 'moderate', 'high', 'critical')
        assert set(b) <= {'category', 'severity', 'description', 'location'}
    if 'location' in b:
        L = b['location']
        assert ('address' in L and L['address'].strip()) or ('lat' in L and 'lon' in L), L
        assert set(L) <= {'address', 'lat', 'lon', 'description'}

def split(c, seed):
    rr = random.Random(seed)
    sizes = collections.Counter(r['incident'] for r in c.reports)
    labels = list(sizes); rr.shuffle(labels)
    labels.sort(key=lambda l: -sizes[l])  # stable sort keeps random order among equal sizes
    half = {}
    tot = [0, 0]
    for l in labels:
        j = 0 if tot[0] < tot[1] else (1 if tot[1] < tot[0] else rr.randint(0, 1))
        half[l] = j; tot[j] += sizes[l]
    return half

def write_region(c):
    d = os.path.join(OUT, c.key)
    os.makedirs(d, exist_ok=True)
    cols = ['openbareruimte', 'huisnummer', 'huisletter', 'huisnummertoevoeging', 'postcode', 'woonplaats', 'gemeente', 'lat', 'lon']
    with open(os.path.join(d, 'gazetteer_addresses.csv'), 'w', encoding='utf-8') as f:
        f.write(';'.join(cols) + '\n')
        for r in c.rows:
            f.write(';'.join('%.6f' % r[k] if k in ('lat', 'lon') else str(r[k]) for k in cols) + '\n')
    with open(os.path.join(d, 'gazetteer_places.csv'), 'w', encoding='utf-8') as f:
        f.write('naam;soort;woonplaats;lat;lon;alias\n')
        for p in c.places:
            f.write('%s;%s;%s;%.6f;%.6f;%s\n' % (p['naam'], p['soort'], p['woonplaats'], p['lat'], p['lon'], '|'.join(p['aliases'])))
    with open(os.path.join(d, 'nsps.jsonl'), 'w', encoding='utf-8') as f:
        for n in c.nsps:
            f.write(json.dumps({k: n[k] for k in ('nsp_id', 'name', 'address', 'lat', 'lon')}, ensure_ascii=False) + '\n')
    nsp_ids = {n['nsp_id'] for n in c.nsps}
    for r in c.reports:
        validate_report(r, nsp_ids)
    half = split(c, SEED + (1 if c.key == 'velderhoven' else 2))
    files = {'reports.jsonl': c.reports, 'tune.jsonl': [r for r in c.reports if half[r['incident']] == 0],
             'holdout.jsonl': [r for r in c.reports if half[r['incident']] == 1]}
    for fn, rs in files.items():
        with open(os.path.join(d, fn), 'w', encoding='utf-8') as f:
            for r in rs:
                f.write(json.dumps(r, ensure_ascii=False) + '\n')
    return {fn: len(rs) for fn, rs in files.items()}, half

def stats(c, half):
    sizes = collections.Counter(r['incident'] for r in c.reports)
    p1 = sum(1 for r in c.reports if r['kind'] == 'help_request' and r['body']['urgency'] == 'P1')
    hr = sum(1 for r in c.reports if r['kind'] == 'help_request')
    p1_inc = len({r['incident'] for r in c.reports if r['kind'] == 'help_request' and r['body']['urgency'] == 'P1'})
    p1_multi = len({l for l in sizes if sizes[l] > 1 and any(r['incident'] == l and r['kind'] == 'help_request' and r['body']['urgency'] == 'P1' for r in c.reports)})
    area = sum(1 for i in c.allinc if i['type'].startswith('topic:'))
    area_r = sum(i['size'] for i in c.allinc if i['type'].startswith('topic:'))
    return dict(reports=len(c.reports), incidents=len(sizes), help_requests=hr, situation_reports=len(c.reports) - hr,
                p1_reports=p1, p1_share_of_help_requests=round(p1 / hr, 3), incidents_with_p1=p1_inc, multi_report_incidents_with_p1=p1_multi,
                single_report_incidents=sum(1 for v in sizes.values() if v == 1),
                multi_report_incidents=sum(1 for v in sizes.values() if v > 1),
                max_reports_per_incident=max(sizes.values()),
                size_histogram=dict(sorted(collections.Counter(sizes.values()).items())),
                area_wide_incidents=area, area_wide_reports=area_r,
                hard_negative_groups=len(c.groups), incidents_in_hard_negative_groups=sum(len(g['incidents']) for g in c.groups),
                tune_reports=sum(1 for r in c.reports if half[r['incident']] == 0),
                holdout_reports=sum(1 for r in c.reports if half[r['incident']] == 1),
                tune_incidents=sum(1 for l in sizes if half[l] == 0), holdout_incidents=sum(1 for l in sizes if half[l] == 1),
                addresses=len(c.rows), streets=len(c.streets), places=len(c.places), nsps=len(c.nsps))

RULES = """# Blind NSP grouping evaluation set — labelling rules

Generated by `make_data.py` (python3, `random.Random(%(seed)d)`), written without looking at the project code
or its data. Everything (towns, streets, people, events) is invented.

## Regions
* **velderhoven** (region A): invented mid-size city, gemeente/woonplaats Velderhoven, neighbourhoods Centrum,
  Oosterpark, De Hoeven, Molenwijk. Similar street names on purpose: Beukenlaan/Berkenlaan, Molenstraat/Molenweg,
  Rozenlaan/Rozenstraat, Noorderdijk/Zuiderdijk, Korte/Lange Nieuwstraat, Prins Hendrikkade/Prins Bernhardstraat.
  Flats with huisnummertoevoeging: Sint Janssingel 40 (1-16), Stationsweg 2 (1-12), Prinses Beatrixlaan 1 (1-20).
* **maasveld** (region B): invented rural gemeente Maasveld with villages Hulsveld, Ravenhorst, Ommelo, Dreumelen
  (3.0-5.7 km apart). Shared street names: Kerkstraat (4 villages), Dorpsstraat (3), Schoolstraat (2), Molenweg (2);
  similar: Hoogveldseweg (Ommelo) / Hulsveldseweg (Dreumelen).

## Files (per region directory)
* `gazetteer_addresses.csv` — BAG-style extract (`;`, UTF-8). Houses 1..N per street, ~10 m apart along a straight
  line, odd/even numbers on opposite sides (7 m from the axis). A few addresses have huisletter A/B.
* `gazetteer_places.csv` — named places with aliases (`|`-separated).
* `nsps.jsonl` — the noodsteunpunten.
* `reports.jsonl` — all labelled reports, sorted by `received_at`; `tune.jsonl` + `holdout.jsonl` = a split by
  incident (all reports of an incident in the same half), greedy size-balanced after a seeded shuffle.
* `../stats.json` — the counts below, machine-readable, plus the hard-negative groups with their labels.

The label is the `incident` field, e.g. `A017-cold` (region letter, sequence number by first report time, and the
generator's incident type; area-wide topics are `...-area-<topic>`). The type suffix is for reading only — a grouping
system must only use `incident` as an opaque id.

## Labelling rule
Two reports share an incident label iff a CP operator who knew the truth would say they are about the same
real-world event that needs the same response. Concretely:

1. **One located event = one incident.** All reports about the same emergency at the same spot (same person, same
   household, same fire, same fallen tree, same crowd at the same shop), whoever reports it, from whichever NSP, in
   whatever words, kind (help_request or situation_report) or category. E.g. a house fire reported as help_request/fire
   by neighbours and as situation_report/fire ("zwarte rookpluim boven de huizen") by a passer-by is one incident.
   Reporters may disagree on urgency (P1 vs P2), people_involved (±1) and details; that does not split an incident.
2. **Different event at the same address = different incident.** A fall in flat 3 and a fire in flat 11 of the same
   building; two different residents of one care home; a household that is cold in the morning and has CO poisoning
   (barbecue inside) in the evening; a farm without power for milking on day 1 and a barn fire on day 2.
3. **Same kind of event at a different address = different incident**, however close: cold elderly in house 14 and
   house 16; two cardiac arrests 25 minutes and a few hundred metres apart; Kerkstraat 8 in Hulsveld vs Kerkstraat 8 in
   Ravenhorst; Beukenlaan 7 vs Berkenlaan 7.
4. **Missing persons**: all reports about the same missing person are one incident, even when the location is
   different (the parent reports from home, a shopkeeper reports from the supermarket where the parent asked around, a
   passer-by reports a confused elderly person at another spot). Sightings of that person belong to the incident.
5. **Area-wide signals without a specific location** (information needs, rumours, general public mood): one incident
   per **(region, topic, calendar day UTC)**. E.g. all "where can we get drinking water" questions in Maasveld on
   23 Nov = one incident; the same topic on 24 Nov is a new incident. Topics are distinct when an operator would give
   a different answer: water points / is tap water safe / when is power back / phone charging / medicines /
   warm shelter / fuel / each distinct rumour subject (water poisoned, looting, power-restoration time, evacuation) /
   public mood / (B only) ferry, generators for farms. About 20%% of these reports carry the reporting NSP's own address
   or coordinates as location — that is the NSP, not an incident location.
6. Located situation reports that are about an event (tree on the road, cable down, transformer, burst pipe,
   sewage, crossing without traffic lights, bridge stuck, seepage at the dike, loose cattle, crowd at a shop,
   queue at the pharmacy) follow rule 1-3: one incident per event.

## How the text was made
Per incident the generator fixes the facts (person sex/age/name, household, event variant such as
"barbecue inside" vs "aggregaat in the garage", clothing of a missing child, etc.). Each report then draws a
*different* phrasing of the same facts (e.g. breathing trouble as "hapt naar lucht", "kan niet uitpraten",
"zit voorovergebogen en heeft blauwe lippen"), a different way to refer to the person ("mijn moeder",
"de buurvrouw", "mw. Jansen", "een vrouw van ongeveer 85"), and a writer style: normal, terse
("brand schuur kerkstr 12"), long/emotional, ALL CAPS, no punctuation/lowercase, dictated by a non-native speaker,
typos (doubled/dropped/swapped letters, ij/ei/y, d/t). Location per report: address as typed (abbreviated
"Burg. v.d. Elsenstr", "Kastanjeln.", "Prinses Beatrixln", misspelled, lowercase, with/without woonplaats, sometimes
postcode or the number in words), map pick only (8-80 m off, sometimes up to 160 m) with the address only in the
free text (or nowhere), both, street without number, or landmark only ("achter de Jumbo", "t.o. de bieb",
"schoolplein van De Regenboog", "bij de brug over het kanaal"), plus an optional location description.
Reports of one incident arrive from the nearest NSPs (distance-weighted; in region B strongly the village's own NSP)
over 2-120 minutes; area-wide topics spread over the day. All reports fall between 23 Nov 2026 05:00 UTC and 24 Nov 2026 ~23:00 UTC.
P1 is kept around 10-15%% of help requests; pure-P1 types (cardiac arrest, knife threat) are never downgraded at
incident level, individual reporters may still rate one level lower.

Known limitations: grammar in generated sentences is sometimes clumsy (like hastily typed text, but produced by
templates); the number of distinct phrasings per incident type is finite (roughly 4-10 event phrasings, 9+ generic
sentence frames, 4-7 terse and 2-4 non-native frames per type), so very large incidents reuse phrasings with
different location renderings and styles.
"""

def write_labelling(allstats, groups):
    out = [RULES % dict(seed=SEED), '## Counts\n']
    keys = ['reports', 'incidents', 'help_requests', 'situation_reports', 'p1_reports', 'p1_share_of_help_requests',
            'incidents_with_p1', 'multi_report_incidents_with_p1', 'single_report_incidents', 'multi_report_incidents',
            'max_reports_per_incident', 'area_wide_incidents', 'area_wide_reports', 'hard_negative_groups',
            'incidents_in_hard_negative_groups', 'tune_reports', 'tune_incidents', 'holdout_reports', 'holdout_incidents',
            'addresses', 'streets', 'places', 'nsps']
    regs = list(allstats)
    out.append('| | ' + ' | '.join(regs) + ' | total |')
    out.append('|---|' + '---|' * (len(regs) + 1))
    for k in keys:
        vals = [allstats[r][k] for r in regs]
        tot = '' if isinstance(vals[0], float) else (max(vals) if k.startswith('max') else sum(vals))
        if k == 'p1_share_of_help_requests':
            tot = round(sum(allstats[r]['p1_reports'] for r in regs) / sum(allstats[r]['help_requests'] for r in regs), 3)
        out.append('| %s | %s | %s |' % (k, ' | '.join(str(v) for v in vals), tot))
    out.append('\nIncident size histogram (reports per incident -> number of incidents):\n')
    for r in regs:
        out.append('* %s: %s' % (r, allstats[r]['size_histogram']))
    out.append('\n"incidents_with_p1" = incidents with at least one P1 help request.\n')
    out.append('## Deliberate hard-negative groups (must NOT be merged)\n')
    out.append('Besides these scripted groups, random incidents naturally share streets (esp. Kerkstraat/Dorpsstraat in B)'
               ' and neighbourhoods, and area-wide topics recur on both days.\n')
    for r in regs:
        out.append('### %s\n' % r)
        for name, why, labels in groups[r]:
            out.append('* `%s`: %s — %s' % (name, why, ', '.join(labels)))
        out.append('')
    with open(os.path.join(OUT, 'LABELLING.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')

def main():
    allstats = {}
    groups = {}
    for key, target in (('velderhoven', 420), ('maasveld', 320)):
        c = gen_region(key, target)
        counts, half = write_region(c)
        allstats[key] = stats(c, half)
        groups[key] = [(g['name'], g['why'], [i['label'] for i in g['incidents']]) for g in c.groups]
    with open(os.path.join(OUT, 'stats.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(stats=allstats, hard_negative_groups=groups), f, ensure_ascii=False, indent=1)
    write_labelling(allstats, groups)
    print(json.dumps(allstats, indent=1, ensure_ascii=False))
    for k, gs in groups.items():
        for g in gs:
            print(k, g)

if __name__ == '__main__':
    main()
