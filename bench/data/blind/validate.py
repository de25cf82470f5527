#!/usr/bin/env python3
"""Independent checks of the generated blind data set."""
import json, csv, os, collections, datetime, sys
D = os.path.dirname(os.path.abspath(__file__))
HR = {'medical', 'fire', 'crime', 'vulnerable_person', 'missing_person', 'other'}
SR = {'infrastructure', 'power', 'water', 'health', 'safety', 'fire', 'public_mood', 'rumour', 'information_need', 'other'}
ok = True
def fail(*a):
    global ok; ok = False; print('FAIL', *a)
for reg in ('velderhoven', 'maasveld'):
    p = os.path.join(D, reg)
    with open(os.path.join(p, 'gazetteer_addresses.csv'), encoding='utf-8') as f:
        head = f.readline().strip()
        if head != 'openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;gemeente;lat;lon':
            fail(reg, 'address header', head)
        rows = list(csv.reader(f, delimiter=';'))
    if any(len(r) != 9 for r in rows): fail(reg, 'address cols')
    streets = {(r[0], r[5]) for r in rows}
    with open(os.path.join(p, 'gazetteer_places.csv'), encoding='utf-8') as f:
        if f.readline().strip() != 'naam;soort;woonplaats;lat;lon;alias': fail(reg, 'places header')
        places = list(csv.reader(f, delimiter=';'))
    for pl in places:
        if len(pl) != 6 or pl[1] not in {'school', 'kerk', 'moskee', 'station', 'brug', 'supermarkt', 'sporthal', 'huisartsenpost', 'apotheek', 'zorgcentrum', 'park', 'plein', 'bedrijf', 'other'}:
            fail(reg, 'place', pl)
    nsps = [json.loads(l) for l in open(os.path.join(p, 'nsps.jsonl'), encoding='utf-8')]
    ids = {n['nsp_id'] for n in nsps}
    for n in nsps:
        if set(n) != {'nsp_id', 'name', 'address', 'lat', 'lon'} or n['nsp_id'] != n['nsp_id'].lower(): fail(reg, 'nsp', n)
    sets = {}
    for fn in ('reports.jsonl', 'tune.jsonl', 'holdout.jsonl'):
        rs = []
        for i, line in enumerate(open(os.path.join(p, fn), encoding='utf-8')):
            try:
                r = json.loads(line)
            except Exception as e:
                fail(reg, fn, i, e); continue
            rs.append(r)
        sets[fn] = rs
    rs = sets['reports.jsonl']
    prev = None
    for r in rs:
        if set(r) != {'incident', 'received_at', 'kind', 'nsp_id', 'body'}: fail('keys', r)
        t = datetime.datetime.fromisoformat(r['received_at'])
        if t.utcoffset() != datetime.timedelta(0): fail('tz', r)
        if prev and t < prev: fail('order', r)
        prev = t
        if r['nsp_id'] not in ids: fail('nsp', r)
        b = r['body']
        if not (1 <= len(b.get('description', '')) <= 400): fail('desc', r)
        if r['kind'] == 'help_request':
            if b['category'] not in HR or b['urgency'] not in ('P1', 'P2', 'P3', 'P4'): fail('hr', r)
            if not (isinstance(b['people_involved'], int) and b['people_involved'] >= 1): fail('ppl', r)
            if not (isinstance(b['vulnerable_people'], int) and 0 <= b['vulnerable_people'] <= b['people_involved']): fail('vul', r)
            if 'location' not in b: fail('hr loc', r)
            if set(b) - {'category', 'urgency', 'people_involved', 'vulnerable_people', 'description', 'location', 'reporter_name', 'callback'}: fail('hr keys', r)
        elif r['kind'] == 'situation_report':
            if b['category'] not in SR or b['severity'] not in ('low', 'moderate', 'high', 'critical'): fail('sr', r)
            if set(b) - {'category', 'severity', 'description', 'location'}: fail('sr keys', r)
        else:
            fail('kind', r)
        L = b.get('location')
        if L is not None:
            if not (L.get('address') or ('lat' in L and 'lon' in L)): fail('loc', r)
            if 'lat' in L and not (50.7 < L['lat'] < 53.6 and 3.3 < L['lon'] < 7.3): fail('latlon', r)
    tune, hold = sets['tune.jsonl'], sets['holdout.jsonl']
    ti, hi = {r['incident'] for r in tune}, {r['incident'] for r in hold}
    if ti & hi: fail(reg, 'split overlap', ti & hi)
    if len(tune) + len(hold) != len(rs): fail(reg, 'split union')
    key = lambda r: json.dumps(r, sort_keys=True)
    if sorted(map(key, tune + hold)) != sorted(map(key, rs)): fail(reg, 'split content')
    inc = collections.defaultdict(list)
    for r in rs: inc[r['incident']].append(r)
    spans = [(datetime.datetime.fromisoformat(v[-1]['received_at']) - datetime.datetime.fromisoformat(v[0]['received_at'])).total_seconds() / 60
             for k, v in inc.items() if len(v) > 1 and '-area-' not in k]
    hr = [r for r in rs if r['kind'] == 'help_request']
    print(reg, 'reports', len(rs), 'incidents', len(inc), 'tune', len(tune), len(ti), 'holdout', len(hold), len(hi),
          'P1 share %.3f' % (sum(r['body']['urgency'] == 'P1' for r in hr) / len(hr)),
          'located multi-report span min/median/max %.0f/%.0f/%.0f min' % (min(spans), sorted(spans)[len(spans) // 2], max(spans)),
          'time range', rs[0]['received_at'], rs[-1]['received_at'],
          'addresses', len(rows), 'streets', len(streets), 'places', len(places), 'nsps', len(nsps))
    kinds = collections.Counter((r['kind'][:4], 'addr' in str(r['body'].get('location', {}).keys()) , 'lat' in r['body'].get('location', {})) for r in rs)
    print('  (kind, has address, has lat/lon):', dict(kinds))
print('ALL OK' if ok else 'ERRORS')
sys.exit(0 if ok else 1)
