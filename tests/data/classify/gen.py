#!/usr/bin/env python3
"""Generates the labelled classifier corpus (deterministic: seed 4).

values.tsv  LABELS<TAB>FIELD<TAB>VALUE   LABELS: kinds joined by ',' or 'none';
            FIELD may be empty (no field name); a value starting with '#' is a
            JSON number.
fields.tsv  LABELS<TAB>NAME              kinds the field name alone names.
text.tsv    SPANS<TAB>TEXT               SPANS: KIND:START:END joined by ';'
            (byte offsets into the UTF-8 text) or '-'.

Usage: python3 tests/data/classify/gen.py   (writes next to itself)
"""
import os
import random

R = random.Random(4)
HERE = os.path.dirname(os.path.abspath(__file__))

# --- generators of valid values -------------------------------------------

def luhn_complete(prefix, length):
    d = [int(c) for c in prefix]
    while len(d) < length - 1:
        d.append(R.randrange(10))
    s = 0
    for i, v in enumerate(reversed(d)):
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        s += v
    d.append((10 - s % 10) % 10)
    return ''.join(map(str, d))

def luhn_ok(s):
    t = 0
    for i, c in enumerate(reversed(s)):
        v = int(c)
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        t += v
    return t % 10 == 0

CARD_PREFIX = [('4', 16), ('4', 13), ('4', 19), ('51', 16), ('55', 16),
               ('2221', 16), ('2720', 16), ('34', 15), ('37', 15),
               ('6011', 16), ('65', 16), ('644', 16), ('3528', 16),
               ('3589', 19), ('62', 16), ('62', 19), ('36', 14),
               ('300', 14), ('6759', 16), ('2200', 16)]

def group_card(n):
    style = R.randrange(4)
    if style == 0:
        return n
    sep = ' ' if style == 1 else '-'
    if len(n) == 15 and style == 3:
        return sep.join([n[:4], n[4:10], n[10:]])
    return sep.join(n[i:i + 4] for i in range(0, len(n), 4))

def card():
    p, l = R.choice(CARD_PREFIX)
    return luhn_complete(p, l)

PROV = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
        43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]
W11 = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

def leap(y):
    return (y % 4 == 0 and y % 100 != 0) or y % 400 == 0

def rand_date(y0=1935, y1=2012):
    y = R.randrange(y0, y1)
    m = R.randrange(1, 13)
    dim = [31, 29 if leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if R.random() < 0.05:
        y = R.choice([1948, 1972, 1996, 2000, 2004])
        m, d = 2, 29
    else:
        d = R.randrange(1, dim[m - 1] + 1)
    return y, m, d

def id_check(s17):
    return '10X98765432'[sum(int(c) * w for c, w in zip(s17, W11)) % 11]

def cn_id(bad=False):
    y, m, d = rand_date()
    s17 = '%02d%04d%04d%02d%02d%03d' % (R.choice(PROV), R.randrange(100, 9999),
                                         y, m, d, R.randrange(1000))
    c = id_check(s17)
    if bad:
        c = R.choice([x for x in '0123456789X' if x != c])
    if c == 'X' and R.random() < 0.2:
        c = 'x'
    return s17 + c

def cn_id15():
    y, m, d = rand_date(1935, 1999)
    while y >= 2000:
        y, m, d = rand_date(1935, 1999)
    return '%02d%04d%02d%02d%02d%03d' % (R.choice(PROV), R.randrange(100, 9999),
                                          y % 100, m, d, R.randrange(1000))

CN_SEG = ['130', '131', '132', '133', '135', '136', '137', '138', '139', '145',
          '147', '150', '151', '152', '153', '155', '156', '157', '158', '159',
          '166', '170', '171', '173', '175', '176', '177', '178', '180', '181',
          '182', '183', '185', '186', '187', '188', '189', '191', '193', '195',
          '198', '199']

def cn_mobile():
    n = R.choice(CN_SEG) + '%08d' % R.randrange(10 ** 8)
    style = R.randrange(7)
    if style == 1:
        n = '%s %s %s' % (n[:3], n[3:7], n[7:])
    elif style == 2:
        n = '%s-%s-%s' % (n[:3], n[3:7], n[7:])
    elif style == 3:
        n = '+86 ' + n
    elif style == 4:
        n = '+86 %s %s %s' % (n[:3], n[3:7], n[7:])
    elif style == 5:
        n = '0086 ' + n
    elif style == 6:
        n = '+86-' + n
    return n

def nanp():
    a = '%d%02d' % (R.randrange(2, 10), R.randrange(100))
    if a[1:] == '11':
        a = a[0] + '12'
    e = '%d%02d' % (R.randrange(2, 10), R.randrange(100))
    s = '%04d' % R.randrange(10000)
    return a, e, s

def phone():
    k = R.randrange(10)
    if k == 0:
        a, e, s = nanp()
        return '(%s) %s-%s' % (a, e, s)
    if k == 1:
        a, e, s = nanp()
        return '%s-%s-%s' % (a, e, s)
    if k == 2:
        a, e, s = nanp()
        return R.choice(['+1 %s %s %s', '+1-%s-%s-%s', '+1 (%s) %s-%s',
                         '1-%s-%s-%s', '%s.%s.%s']) % (a, e, s)
    if k == 3:
        return '+44 20 7946 %04d' % R.randrange(10000)
    if k == 4:
        return '+49 30 %08d' % R.randrange(10 ** 7, 10 ** 8)
    if k == 5:
        return '+33 1 %02d %02d %02d %02d' % tuple(R.randrange(100) for _ in range(4))
    if k == 6:
        return '+81 3-%04d-%04d' % (R.randrange(1000, 10000), R.randrange(10000))
    if k == 7:
        return R.choice(['010-%08d', '021-%08d', '(010) %08d']) % R.randrange(2 * 10 ** 7, 10 ** 8)
    if k == 8:
        return R.choice(['0755-%07d' % R.randrange(2 * 10 ** 6, 10 ** 7),
                         '0571-%08d' % R.randrange(2 * 10 ** 7, 10 ** 8),
                         '020 7946 %04d' % R.randrange(10 ** 4),
                         '07700 9%05d' % R.randrange(10 ** 5)])
    return '+86 10 %04d %04d' % (R.randrange(2000, 9999), R.randrange(10000))

IBAN_LEN = {'DE': 22, 'GB': 22, 'FR': 27, 'NL': 18, 'ES': 24, 'IT': 27,
            'BE': 16, 'CH': 21, 'AT': 20, 'PL': 28, 'SE': 24, 'NO': 15,
            'DK': 18, 'FI': 18, 'IE': 22, 'PT': 25, 'SA': 24, 'AE': 23}

def iban_check(cc, bban):
    s = bban + cc + '00'
    num = ''.join(str(int(c, 36)) for c in s)
    return '%02d' % (98 - int(num) % 97)

def iban(bad=False):
    cc = R.choice(sorted(IBAN_LEN))
    n = IBAN_LEN[cc] - 4
    if cc in ('GB', 'NL', 'IE'):
        bban = ''.join(R.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ') for _ in range(4)) + \
            ''.join(str(R.randrange(10)) for _ in range(n - 4))
    else:
        bban = ''.join(str(R.randrange(10)) for _ in range(n))
    ck = iban_check(cc, bban)
    if bad:
        ck = '%02d' % ((int(ck) + R.randrange(1, 90)) % 97 + 2)
        if ck == iban_check(cc, bban):
            ck = '%02d' % ((int(ck) + 1) % 97 + 2)
    s = cc + ck + bban
    if R.random() < 0.5:
        s = ' '.join(s[i:i + 4] for i in range(0, len(s), 4))
    return s

def ssn():
    while True:
        a = R.randrange(1, 900)
        if a != 666:
            break
    return '%03d-%02d-%04d' % (a, R.randrange(1, 100), R.randrange(1, 10000))

USCC = '0123456789ABCDEFGHJKLMNPQRTUWXY'
WU = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

def uscc(bad=False):
    s = R.choice('159') + R.choice('123') + '%02d%04d' % (R.choice(PROV), R.randrange(10000))
    s += ''.join(R.choice(USCC) for _ in range(9))
    c = (31 - sum(USCC.index(ch) * w for ch, w in zip(s, WU)) % 31) % 31
    if bad:
        c = (c + R.randrange(1, 31)) % 31
    return s + USCC[c]

def ipv4():
    return '.'.join(str(R.randrange(1, 255)) for _ in range(4))

def ipv6():
    g = ['%x' % R.randrange(65536) for _ in range(8)]
    k = R.randrange(3)
    if k == 0:
        return ':'.join(g)
    if k == 1:
        return '2001:db8::%x:%x' % (R.randrange(65536), R.randrange(65536))
    return 'fe80::%s:%s:%s' % tuple(g[:3])

FIRST = ['john', 'mary', 'wei', 'li', 'anna', 'peter', 'sara', 'chen', 'omar',
         'lucia', 'kenji', 'fatima', 'olga', 'raj', 'zhang.san', 'j']
DOMAINS = ['example.com', 'gmail.com', 'qq.com', '163.com', 'acme.co.uk',
           'mail.example.cn', 'corp.example.org', 'outlook.com', 'sina.com.cn',
           'example.io', 'xn--fiqs8s.xn--55qx5d', 'startup.ai']

def email():
    k = R.randrange(5)
    f = R.choice(FIRST)
    if k == 0:
        local = f
    elif k == 1:
        local = f + '.' + R.choice(['smith', 'wang', 'lee', 'doe'])
    elif k == 2:
        local = f + str(R.randrange(1, 9999))
    elif k == 3:
        local = f + '+' + R.choice(['crm', 'news', 'sales'])
    else:
        local = '%d' % R.randrange(10 ** 5, 10 ** 10)
    e = local + '@' + R.choice(DOMAINS)
    if R.random() < 0.1:
        e = e.upper()
    return e

# --- hard negatives --------------------------------------------------------

def uuid():
    return '%08x-%04x-4%03x-a%03x-%012x' % (R.getrandbits(32), R.getrandbits(16),
                                          R.getrandbits(12), R.getrandbits(12),
                                          R.getrandbits(48))

def isbn13():
    d = '978' + ''.join(str(R.randrange(10)) for _ in range(9))
    c = (10 - sum(int(x) * (1 if i % 2 == 0 else 3) for i, x in enumerate(d)) % 10) % 10
    d += str(c)
    if R.random() < 0.5:
        return '%s-%s-%s-%s-%s' % (d[:3], d[3], d[4:6], d[6:12], d[12])
    return d

def isbn10():
    d = ''.join(str(R.randrange(10)) for _ in range(9))
    c = sum((10 - i) * int(x) for i, x in enumerate(d)) % 11
    c = (11 - c) % 11
    d += 'X' if c == 10 else str(c)
    return '%s-%s-%s-%s' % (d[0], d[1:4], d[4:9], d[9])

def bad_luhn():
    c = card()
    last = int(c[-1])
    return c[:-1] + str((last + R.randrange(1, 10)) % 10)

def luhn_no_issuer():
    return luhn_complete(R.choice(['1', '7', '8', '9', '0']), R.choice([12, 16, 18]))

def order_no():
    k = R.randrange(6)
    if k == 0:
        return 'ORD-%d-%06d' % (R.randrange(2019, 2026), R.randrange(10 ** 6))
    if k == 1:
        return 'SO%06d' % R.randrange(10 ** 6)
    if k == 2:
        return '%d%02d%02d%03d' % (R.randrange(2019, 2026), R.randrange(1, 13),
                                   R.randrange(1, 29), R.randrange(1000))
    if k == 3:
        return '%d' % R.randrange(10 ** 7, 10 ** 9)
    if k == 4:
        return 'INV/%d/%05d' % (R.randrange(2019, 2026), R.randrange(10 ** 5))
    return 'PO-%08d' % R.randrange(10 ** 8)

def timestamp():
    t = R.randrange(1500000000, 1800000000)
    k = R.randrange(6)
    if k == 0:
        return str(t)
    if k == 1:
        return str(t * 1000 + R.randrange(1000))
    if k == 2:
        return '2024-%02d-%02dT%02d:%02d:%02dZ' % (R.randrange(1, 13), R.randrange(1, 29),
                                                 R.randrange(24), R.randrange(60), R.randrange(60))
    if k == 3:
        return '2023-%02d-%02d %02d:%02d:%02d' % (R.randrange(1, 13), R.randrange(1, 29),
                                                R.randrange(24), R.randrange(60), R.randrange(60))
    if k == 4:
        return '%04d-%02d-%02d' % (R.randrange(1990, 2030), R.randrange(1, 13), R.randrange(1, 29))
    return '%02d/%02d/%04d' % (R.randrange(1, 29), R.randrange(1, 13), R.randrange(1990, 2030))

def price():
    v = R.randrange(1, 10 ** 7) / 100
    return R.choice(['%.2f', '$%.2f', '¥%.2f', '€ %.2f', 'USD %.2f']) % v if R.random() < 0.8 \
        else '{:,.2f}'.format(v * 100)

def tracking():
    k = R.randrange(4)
    if k == 0:
        return '1Z%s%08d%d' % (''.join(R.choice('0123456789ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(6)),
                               R.randrange(10 ** 8), R.randrange(10))
    if k == 1:
        return '9400 %04d %04d %04d %04d %02d' % (tuple(R.randrange(10 ** 4) for _ in range(4)) + (R.randrange(100),))
    if k == 2:
        return 'SF%012d' % R.randrange(10 ** 12)
    return '%012d' % R.randrange(10 ** 11, 10 ** 12) if R.random() < 0.5 else \
        'YT%016d' % R.randrange(10 ** 16)

def misc_negative():
    k = R.randrange(14)
    if k == 0:
        return '%d.%d.%d' % (R.randrange(20), R.randrange(20), R.randrange(100))
    if k == 1:
        return '%d.0.%d.%d' % (R.randrange(10, 130), R.randrange(1000, 20000), R.randrange(300))
    if k == 2:
        return '%d.%d.%d.%d' % (R.randrange(256, 999), R.randrange(256), R.randrange(256), R.randrange(256))
    if k == 3:
        return ':'.join('%02X' % R.randrange(256) for _ in range(6))
    if k == 4:
        return '%02d:%02d:%02d' % (R.randrange(24), R.randrange(60), R.randrange(60))
    if k == 5:
        return '%064x' % R.getrandbits(256)
    if k == 6:
        return 'SKU-%05d-%s' % (R.randrange(10 ** 5), R.choice(['S', 'M', 'XL']))
    if k == 7:
        return R.choice(['%06d', '%05d']) % R.randrange(10 ** 5)
    if k == 8:
        return R.choice(['john@', '@example.com', 'john.doe@localhost', 'a..b@example.com',
                         'name at example dot com', 'user@@example.com', 'x@y', 'mailto:'])
    if k == 9:
        return str(R.randrange(10 ** 3, 10 ** 6))
    if k == 10:
        return '%03d-%03d-%04d' % (R.randrange(0, 200), R.randrange(100), R.randrange(10 ** 4))
    if k == 11:
        return R.choice(['N/A', 'unknown', 'true', 'pending', 'Shanghai', 'Beijing Road 1',
                         '北京市朝阳区', 'VIP', 'gold', 'approved'])
    if k == 12:
        return 'v%d.%d.%d-rc%d' % (R.randrange(5), R.randrange(20), R.randrange(30), R.randrange(5))
    return '%d%%' % R.randrange(101)

def bad_id():
    k = R.randrange(3)
    if k == 0:
        return cn_id(bad=True)
    s = cn_id()
    if k == 1:  # invalid date, checksum recomputed
        s17 = s[:10] + R.choice(['1301', '0230', '0431', '0000', '0932']) + s[14:17]
        if s17[10:14] == '0229':
            pass
        return s17 + id_check(s17)
    s17 = '%02d' % R.choice([10, 19, 20, 24, 30, 38, 47, 55, 60, 66, 70, 80, 90, 99]) + s[2:17]
    return s17 + id_check(s17)

def feb29_nonleap():
    y = R.choice([1900, 1955, 1970, 1983, 2001, 2010])
    s17 = '%02d%04d%04d0229%03d' % (R.choice(PROV), R.randrange(1000, 9999), y, R.randrange(1000))
    return s17 + id_check(s17)

# --- values.tsv ------------------------------------------------------------

NEUTRAL = ['', '', '', 'value', 'ref', 'data', 'code', 'id', 'number']

ISSUER = ['4', '51', '52', '53', '54', '55', '34', '37', '62', '6011', '65',
          '644', '645', '646', '647', '648', '649', '36', '38', '39', '300',
          '301', '302', '303', '304', '305'] + [str(x) for x in range(2221, 2721)] + \
    [str(x) for x in range(3528, 3590)] + ['2200', '2201', '2202', '2203', '2204',
                                          '5018', '5020', '5038', '5893', '6304',
                                          '6759', '6761', '6762', '6763']

def uscc_ok(s):
    if len(s) != 18 or any(c not in USCC for c in s):
        return False
    c = (31 - sum(USCC.index(ch) * w for ch, w in zip(s, WU)) % 31) % 31
    return USCC[c] == s[17]

def looks_valid(v):
    # a hard negative must not be a valid identifier of another kind by
    # accident (a corrupted ID that happens to pass Luhn is a card number)
    d = ''.join(c for c in v if c.isdigit())
    if 12 <= len(d) <= 19 and len(d) == len(v.replace(' ', '').replace('-', '')) \
            and luhn_ok(d) and any(d.startswith(p) for p in ISSUER):
        return True
    return uscc_ok(v)

def values():
    rows = []

    def add(label, value, field=''):
        if label == 'none' and looks_valid(value):
            return
        rows.append((label, field, value))
    for _ in range(600):
        add('email', email(), R.choice(NEUTRAL))
    for _ in range(500):
        add('phone', phone(), R.choice(NEUTRAL))
    for _ in range(500):
        add('phone,cn_mobile', cn_mobile(), R.choice(NEUTRAL))
    for _ in range(500):
        add('cn_resident_id', cn_id(), R.choice(NEUTRAL))
    for _ in range(60):
        add('cn_resident_id', cn_id15(), R.choice(['身份证号', 'id_number', 'idCard']))
    for _ in range(500):
        add('payment_card', group_card(card()), R.choice(NEUTRAL))
    for _ in range(60):
        add('payment_card', '#' + card(), R.choice(NEUTRAL))
    for _ in range(400):
        add('iban', iban(), R.choice(NEUTRAL))
    for _ in range(200):
        add('us_ssn', ssn(), R.choice(['ssn', 'SSN', 'social_security_number', 'socialSecurityNo']))
    for _ in range(300):
        add('cn_uscc', uscc(), R.choice(NEUTRAL))
    for _ in range(250):
        add('ipv4', ipv4(), R.choice(NEUTRAL))
    for _ in range(150):
        add('ipv6', ipv6(), R.choice(NEUTRAL))
    neg = [(uuid, 150), (order_no, 250), (timestamp, 250), (price, 150),
           (isbn13, 120), (isbn10, 60), (tracking, 150), (bad_luhn, 250),
           (luhn_no_issuer, 100), (bad_id, 200), (feb29_nonleap, 30),
           (lambda: iban(bad=True), 150), (lambda: uscc(bad=True), 150),
           (misc_negative, 400)]
    for fn, n in neg:
        for _ in range(n):
            add('none', fn(), R.choice(NEUTRAL + ['order_id', 'tracking_no', 'created_at',
                                                  'amount', 'isbn', 'sku', 'version']))
    for _ in range(60):
        add('none', '#' + str(R.randrange(1500000000, 1800000000)), 'created')
    for _ in range(60):
        add('none', ssn(), R.choice(['order_ref', 'part_no', '']))
    R.shuffle(rows)
    return rows

# --- fields.tsv ------------------------------------------------------------

FIELDS = {
    'email': ['email', 'Email', 'EMAIL', 'e_mail', 'E-Mail', 'eMail', 'emailAddress',
              'email_address', 'contact.email', 'contactEmail', 'customer_email',
              'work_email', 'personalEmail', 'email_primary', 'email2', 'billing-email',
              'mail', '邮箱', '电子邮件', '电子邮箱', '邮箱地址', '客户邮箱', '联系人邮箱',
              'user.email', 'primaryEmail', 'notification_email', 'EmailAddr'],
    'phone': ['phone', 'Phone', 'phone_number', 'phoneNumber', 'tel', 'telephone',
              'home_phone', 'workPhone', 'contact_phone', 'fax', 'phone_home',
              'contact.phone', 'officeTel', 'tel_no', 'PHONE_NO', '电话', '联系电话',
              '电话号码', '座机', '办公电话', 'landline', 'contact_number'],
    'phone,cn_mobile': ['mobile', 'mobilePhone', 'mobile_no', 'cellphone', 'cell_phone',
                        '手机', '手机号', '手机号码', '客户手机号', '联系人手机', 'msisdn',
                        'mobile_number', 'MobileNumber', 'contact.mobile'],
    'cn_resident_id': ['身份证号', '身份证', '身份证号码', 'id_card', 'idCard', 'id_card_no',
                       'resident_id', '证件号码', '客户身份证号', 'sfzh', 'citizenId'],
    'cn_resident_id,us_ssn': ['id_number', 'idNumber', 'national_id', 'nationalId',
                              'id_no', 'identity_number'],
    'us_ssn': ['ssn', 'SSN', 'social_security_number', 'socialSecurityNumber', 'ss_number',
               'customer_ssn', 'employee.ssn'],
    'payment_card': ['card_no', 'cardNumber', 'card_number', 'credit_card', 'creditCardNumber',
                     'cc_number', 'pan', 'card', '银行卡号', '卡号', '信用卡号', 'bank_card',
                     'debitCard', 'payment.card_number'],
    'iban': ['iban', 'IBAN', 'iban_number', 'bank_account', 'bankAccountNumber', '银行账号'],
    'cn_uscc': ['uscc', 'unified_social_credit_code', 'creditCode', '统一社会信用代码',
                '信用代码', 'social_credit_code', '纳税人识别号'],
    'ipv4,ipv6': ['ip', 'ip_address', 'ipAddress', 'client_ip', 'remote_addr', 'IP地址',
                  'clientIp', 'x-forwarded-for'],
    'name': ['name', 'full_name', 'fullName', 'first_name', 'firstName', 'last_name',
             'LastName', 'surname', 'given_name', 'customer_name', 'contact_name',
             'contact.name', 'display_name', '姓名', '客户姓名', '真实姓名', '联系人',
             'middleName', 'cardholder_name', 'name_cn'],
    'address': ['address', 'home_address', 'homeAddress', 'street', 'street_address',
                'address_line1', 'addressLine1', 'mailing_address', 'billing_address',
                'shipping.address', '地址', '家庭住址', '住址', '收货地址', '联系地址',
                '通讯地址', 'postal_address'],
    'birth_date': ['birth_date', 'birthDate', 'date_of_birth', 'dateOfBirth', 'dob', 'DOB',
                   'birthday', '出生日期', '生日', '出生年月', 'customer.birthday'],
    'none': ['email_opt_in', 'emailOptIn', 'phone_verified', 'phoneVerified', 'card_count',
             'is_email_valid', 'has_phone', 'isMobile', 'hasCard', 'email_template',
             'email_status', 'phone_type', 'card_type', 'cardBrand', 'company_name',
             'product_name', 'file_name', 'hostname', 'username', 'userName', 'mac_address',
             'id', 'uuid', 'order_id', 'orderId', 'created_at', 'updated_at', 'amount',
             'price', 'currency', 'status', 'sku', 'quantity', 'total', 'notes', 'comment',
             'description', 'title', 'country', 'city', 'zip', 'tags', 'owner_id',
             'email_count', 'phone_country_code', 'email_domain', 'mobile_verified_at',
             'is_vip', 'has_address', 'address_type', 'name_count', 'city_name',
             'stage_name', 'campaign_name', 'account_name', 'tracking_number', 'isbn',
             'version', 'ip_version', 'card_expiry', 'card_last4', 'cvv', 'url',
             '是否手机验证', '手机状态', '邮箱验证', '公司名称', '产品名称', '订单号',
             '创建时间', '金额', '备注', '数量', 'event_name', 'lead_source', 'stage',
             'probability', 'close_date', 'industry', 'website', 'employees', 'revenue',
             'rating', 'priority', 'subject', 'body', 'due_date', 'type', 'category',
             'payment_status', 'invoice_no', 'shipment_id', 'carrier', 'weight',
             'color', 'size', 'score', 'segment', 'region', 'timezone', 'locale',
             'language', 'source', 'medium', 'referrer', 'user_agent', 'session_id',
             'request_id', 'trace_id', 'checksum', 'signature', 'token', 'api_key_id',
             'emailSubject', 'emailBody', 'smsTemplate', 'templateId', 'cardholderCount',
             'business_card', 'gift_card', 'phone_country', 'email_sent', 'email_bounced',
             'birth_place', 'name_format', 'address_verified', 'display_name_format'],
}

def fields():
    rows = []
    for label, names in FIELDS.items():
        for n in names:
            rows.append((label, n))
    # variants: separators and case of the positives
    extra = []
    for label, n in rows:
        if label == 'none' or not n.isascii():
            continue
        if '_' in n:
            extra.append((label, n.replace('_', '-')))
            extra.append((label, n.upper()))
        if R.random() < 0.5:
            extra.append((label, 'customer.' + n))
    return rows + extra

# --- text.tsv --------------------------------------------------------------

def text_entity():
    k = R.randrange(9)
    if k == 0:
        return email(), ['email']
    if k == 1:
        v = cn_mobile()
        return v, ['phone', 'cn_mobile']
    if k == 2:
        a, e, s = nanp()
        return R.choice(['(%s) %s-%s', '%s-%s-%s', '+1 %s %s %s']) % (a, e, s), ['phone']
    if k == 3:
        return cn_id(), ['cn_resident_id']
    if k == 4:
        return group_card(card()), ['payment_card']
    if k == 5:
        return iban(), ['iban']
    if k == 6:
        return uscc(), ['cn_uscc']
    if k == 7:
        return ipv4(), ['ipv4']
    return phone(), ['phone']

FILLER_EN = ['Customer called about the renewal', 'please follow up next week',
             'prefers contact in the morning', 'asked for a discount on order',
             'the invoice total was', 'shipment tracking', 'meeting notes:',
             'VIP since 2019, see ticket', 'left a voicemail', 'budget approved for Q3',
             'version', 'ISBN', 'price']
FILLER_ZH = ['客户来电咨询续费', '请下周跟进', '联系方式', '订单金额为', '备注：',
             '已发送合同', '物流单号', '客户希望上午联系']
PREFIX = {'email': ['email', 'mail to', '邮箱', 'reach at'],
          'phone': ['call', 'phone', 'tel:', '电话', 'mobile'],
          'cn_mobile': ['手机', 'call'],
          'cn_resident_id': ['身份证', 'ID', 'id no.'],
          'payment_card': ['card', '卡号', 'paid with'],
          'iban': ['IBAN', 'transfer to', 'account'],
          'cn_uscc': ['统一社会信用代码', 'USCC', 'company code'],
          'ipv4': ['from IP', 'login from', 'IP']}

def text_negative():
    return R.choice([order_no, timestamp, price, isbn13, tracking, bad_luhn, uuid,
                     lambda: cn_id(bad=True), lambda: '%d.%d.%d' % (R.randrange(9), R.randrange(9), R.randrange(30)),
                     lambda: str(R.randrange(1, 10 ** 6)), lambda: iban(bad=True)])()

def text():
    rows = []
    for i in range(700):
        parts = []
        spans = []
        pos = 0

        def put(s):
            nonlocal pos
            parts.append(s)
            pos += len(s.encode())
        zh = R.random() < 0.35
        put(R.choice(FILLER_ZH if zh else FILLER_EN))
        for _ in range(R.randrange(0, 4)):
            if R.random() < 0.35:
                put(' ' if not zh else '，')
                put(text_negative())
                continue
            v, kinds = text_entity()
            put(' ' if not zh or R.random() < 0.5 else '，')
            put(R.choice(PREFIX[kinds[-1]]))
            pre = parts[-1]
            glue = ['', ' ', '：'] if zh and not pre[-1].isascii() else [' ', ': ', '：']
            put(R.choice(glue))
            st = pos
            put(v)
            for k in kinds:
                spans.append('%s:%d:%d' % (k, st, pos))
            if R.random() < 0.5:
                put(R.choice(['.', ',', ';', '。', ' ok', ')']))
        if R.random() < 0.3:
            put(' ' + R.choice(FILLER_ZH if zh else FILLER_EN))
        if R.random() < 0.1:
            st = pos + len(' SSN '.encode())
            v = ssn()
            put(' SSN ' + v)
            spans.append('us_ssn:%d:%d' % (st, pos))
        rows.append((';'.join(spans) or '-', ''.join(parts)))
    return rows

def main():
    with open(os.path.join(HERE, 'values.tsv'), 'w', encoding='utf-8') as f:
        for label, field, value in values():
            f.write('%s\t%s\t%s\n' % (label, field, value))
    with open(os.path.join(HERE, 'fields.tsv'), 'w', encoding='utf-8') as f:
        for label, name in fields():
            f.write('%s\t%s\n' % (label, name))
    with open(os.path.join(HERE, 'text.tsv'), 'w', encoding='utf-8') as f:
        for spans, t in text():
            f.write('%s\t%s\n' % (spans, t))

if __name__ == '__main__':
    main()
