/* tests/unit/test_classifiers.c — every value detector (valid, invalid,
 * boundary), field-name normalisation, custom classes (regex, paths, words,
 * in_text), load errors and free-text spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "classifiers/classifiers.h"
#include "classifiers/internal.h"
#include "policies/errs.h"

struct fx {
	struct cls_set		*set;
	struct cls_scratch	*scr;
	struct cls_match	 m[64];
	size_t			 n;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || (fx->set = cls_set_builtin()) == NULL ||
	    (fx->scr = cls_scratch_new()) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	cls_scratch_free(fx->scr);
	cls_set_free(fx->set);
	free(fx);
	return 0;
}

static size_t
run(struct fx *fx, const char *name, const char *value, enum cls_vtype type)
{
	struct cls_field f = { name, name ? strlen(name) : 0, NULL, value,
	    strlen(value), type };

	fx->n = cls_classify(fx->set, fx->scr, &f, fx->m, 64);
	assert_true(fx->n <= 64);
	return fx->n;
}

/* The confidence of the whole-field match of class cls, 0 when none. */
static int
conf_of(struct fx *fx, const char *cls)
{
	for (size_t i = 0; i < fx->n; i++)
		if (!fx->m[i].span && strcmp(fx->m[i].class_name, cls) == 0)
			return (int)fx->m[i].confidence;
	return 0;
}

static int
has_ev(struct fx *fx, const char *cls, const char *ev)
{
	for (size_t i = 0; i < fx->n; i++) {
		if (strcmp(fx->m[i].class_name, cls) != 0)
			continue;
		for (size_t e = 0; e < fx->m[i].nevidence; e++)
			if (strcmp(fx->m[i].evidence[e], ev) == 0)
				return 1;
	}
	return 0;
}

/* value alone (no field name) is found as cls with at least conf */
static void
want(struct fx *fx, const char *cls, const char *value, int conf)
{
	run(fx, NULL, value, CLS_V_STRING);
	if (conf_of(fx, cls) < conf)
		fail_msg("%s: \"%s\" got confidence %d, want >= %d", cls, value,
		    conf_of(fx, cls), conf);
}

static void
nope(struct fx *fx, const char *cls, const char *value)
{
	run(fx, NULL, value, CLS_V_STRING);
	if (conf_of(fx, cls) >= CLS_CONF_MEDIUM)
		fail_msg("%s: \"%s\" should not match (confidence %d)", cls,
		    value, conf_of(fx, cls));
}

#define M	CLS_CONF_MEDIUM
#define H	CLS_CONF_HIGH

static void
test_email(void **state)
{
	struct fx *fx = *state;
	static const char *good[] = { "john.doe@example.com", "a+tag@x.co",
	    "ZHANG.SAN@QQ.COM", "li_lei-1@mail.example.cn",
	    "o'brien@example.ie", "x@xn--fiqs8s.xn--55qx5d", "用户@例子.中国" };
	static const char *bad[] = { "john@", "@example.com", "john@localhost",
	    "a..b@example.com", ".a@example.com", "a.@example.com",
	    "a@-x.com", "a@x-.com", "a@x.c", "a@x.123", "a b@example.com",
	    "a@@example.com", "mailto:", "user@exa mple.com" };

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		want(fx, "email", good[i], H);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		nope(fx, "email", bad[i]);
	want(fx, "email", "  john@example.com \n", H);	/* trimmed */
	run(fx, "email", "john@example.com", CLS_V_STRING);
	assert_true(has_ev(fx, "email", "field:email"));
	assert_true(has_ev(fx, "email", "value:email"));
	assert_int_equal(fx->m[0].start, 0);
	assert_int_equal(fx->m[0].end, 16);
	assert_int_equal(fx->m[0].span, 0);
}

static void
test_phone(void **state)
{
	struct fx *fx = *state;
	static const char *good[] = { "+1 415 555 2671", "+1-415-555-2671",
	    "+1 (415) 555-2671", "(415) 555-2671", "415-555-2671",
	    "415.555.2671", "1-415-555-2671", "+44 20 7946 0958",
	    "+49 30 12345678", "+33 1 23 45 67 89", "+81 3-1234-5678",
	    "010-62345678", "(010) 62345678", "0755-2345678",
	    "020 7946 0958", "07700 900123", "+86 10 1234 5678",
	    "0044 20 7946 0958", "+390612345678" };
	static const char *bad[] = { "12345", "2024-01-15", "12.99",
	    "978-3-16-148410-0", "0-306-40615-2", "+1 015 555 2671",
	    "+28 1234 5678", "004-061-2136", "015-030-6060",
	    "415-555-267", "(415 555-2671", "+1 415 555 2671 ext 2",
	    "1700000000", "555-1234", "01/02/2024", "+44 0 20 7946 0958" };

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		want(fx, "phone", good[i], M);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		nope(fx, "phone", bad[i]);
	/* E.164 is high on its own; bare digits need the field name */
	want(fx, "phone", "+14155552671", H);
	nope(fx, "phone", "4155552671");
	run(fx, "phone", "4155552671", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "phone"), H);
	run(fx, "phone", "4155552671", CLS_V_NUMBER);
	assert_int_equal(conf_of(fx, "phone"), H);
	/* a local number: weak alone, high in a phone field */
	nope(fx, "phone", "555-1234");
	run(fx, "phone", "555-1234", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "phone"), H);
	/* a phone field whose value is no number we know, but has digits */
	run(fx, "phone", "ask 555 1234 x", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "phone"), M);
	run(fx, "phone", "n/a", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "phone"), CLS_CONF_LOW);
	run(fx, "phone", "", CLS_V_STRING);
	assert_int_equal(fx->n, 0);
}

static void
test_cn_mobile(void **state)
{
	struct fx *fx = *state;
	static const char *seg[] = { "130", "131", "132", "133", "134", "135",
	    "136", "137", "138", "139", "145", "147", "149", "150", "151",
	    "153", "155", "159", "162", "165", "166", "167", "170", "173",
	    "175", "178", "180", "185", "189", "191", "193", "195", "198",
	    "199" };
	static const char *badseg[] = { "120", "110", "100", "144", "154",
	    "160", "163", "179", "194" };
	char buf[32];

	for (size_t i = 0; i < sizeof(seg) / sizeof(*seg); i++) {
		snprintf(buf, sizeof(buf), "%s00138000", seg[i]);
		want(fx, "cn_mobile", buf, M);
		want(fx, "phone", buf, M);
	}
	for (size_t i = 0; i < sizeof(badseg) / sizeof(*badseg); i++) {
		snprintf(buf, sizeof(buf), "%s00138000", badseg[i]);
		nope(fx, "cn_mobile", buf);
	}
	want(fx, "cn_mobile", "138 0013 8000", M);
	want(fx, "cn_mobile", "138-0013-8000", M);
	want(fx, "cn_mobile", "+86 138 0013 8000", H);
	want(fx, "cn_mobile", "+86-13800138000", H);
	want(fx, "cn_mobile", "+8613800138000", H);
	want(fx, "cn_mobile", "0086 13800138000", H);
	want(fx, "phone", "+86 138 0013 8000", H);
	nope(fx, "cn_mobile", "1-380-013-8000");
	nope(fx, "cn_mobile", "1380013800");
	nope(fx, "cn_mobile", "138001380001");
	nope(fx, "cn_mobile", "+87 138 0013 8000");
	run(fx, NULL, "13800138000", CLS_V_NUMBER);
	assert_int_equal(conf_of(fx, "cn_mobile"), M);
	run(fx, "手机号", "13800138000", CLS_V_NUMBER);
	assert_int_equal(conf_of(fx, "cn_mobile"), H);
	assert_true(has_ev(fx, "cn_mobile", "field:cn_mobile"));
}

/* Completes 17 digits with their MOD 11-2 check character. */
static void
mkid(char *out, const char *d17)
{
	static const int w[17] =
	    { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	int s = 0;

	for (int i = 0; i < 17; i++)
		s += (d17[i] - '0') * w[i];
	memcpy(out, d17, 17);
	out[17] = "10X98765432"[s % 11];
	out[18] = '\0';
}

static void
test_cn_resident_id(void **state)
{
	struct fx *fx = *state;
	static const int prov[] = { 11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33,
	    34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62,
	    63, 64, 65, 71, 81, 82, 83 };
	static const int badprov[] = { 10, 16, 20, 24, 30, 38, 40, 47, 55, 60,
	    66, 70, 72, 80, 84, 90, 99 };
	char d17[18], id[19];

	for (size_t i = 0; i < sizeof(prov) / sizeof(*prov); i++) {
		snprintf(d17, sizeof(d17), "%02d010519900307451", prov[i]);
		mkid(id, d17);
		want(fx, "cn_resident_id", id, H);
		run(fx, NULL, id, CLS_V_STRING);
		assert_true(has_ev(fx, "cn_resident_id", "checksum:mod11-2"));
	}
	for (size_t i = 0; i < sizeof(badprov) / sizeof(*badprov); i++) {
		snprintf(d17, sizeof(d17), "%02d010519900307451", badprov[i]);
		mkid(id, d17);
		nope(fx, "cn_resident_id", id);
	}
	want(fx, "cn_resident_id", "11010519491231002X", H);
	want(fx, "cn_resident_id", "11010519491231002x", H);
	nope(fx, "cn_resident_id", "110105194912310021");	/* checksum */
	want(fx, "cn_resident_id", "110105 19491231 002X", H);
	/* dates: 0229 only in leap years (2000 yes, 1900 no), no month 13 */
	mkid(id, "11010520000229123");
	want(fx, "cn_resident_id", id, H);
	mkid(id, "11010519960229123");
	want(fx, "cn_resident_id", id, H);
	mkid(id, "11010519000229123");
	nope(fx, "cn_resident_id", id);
	mkid(id, "11010519970229123");
	nope(fx, "cn_resident_id", id);
	mkid(id, "11010519971301123");
	nope(fx, "cn_resident_id", id);
	mkid(id, "11010519970431123");
	nope(fx, "cn_resident_id", id);
	mkid(id, "11010518991231123");
	nope(fx, "cn_resident_id", id);
	/* the 15-digit form: no checksum, so only with a field name */
	nope(fx, "cn_resident_id", "110105491231002");
	run(fx, "身份证号", "110105491231002", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "cn_resident_id"), H);
	run(fx, "id_card", "110105491331002", CLS_V_STRING);	/* month 13 */
	assert_int_equal(conf_of(fx, "cn_resident_id"), M);
	assert_false(has_ev(fx, "cn_resident_id", "value:cn_resident_id"));
}

static void
test_payment_card(void **state)
{
	struct fx *fx = *state;
	static const char *good[] = { "4111111111111111", "4012888888881881",
	    "4222222222222", "5555555555554444", "5105105105105100",
	    "2223003122003222", "378282246310005",
	    "371449635398431", "6011111111111117", "6445644564456445",
	    "3530111333300000", "3566002020360505", "6212345678901232",
	    "6250941006528599", "30569309025904", "36227206271667",
	    "6759649826438453", "2200000000000004", "4111 1111 1111 1111",
	    "4111-1111-1111-1111", "3782 822463 10005",
	    "4000 0000 0000 0000 006" };
	static const char *bad[] = { "4111111111111112", "1234567812345670",
	    "0000000000000000", "4111 1111 1111 111", "41111 1111 1111 111",
	    "4111-1111 1111-1111", "378282246310005 ", "9780306406157",
	    "5555555555554444555", "4111.1111.1111.1111", "411111111111" };

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		want(fx, "payment_card", good[i], H);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (strcmp(bad[i], "378282246310005 ") != 0)
			nope(fx, "payment_card", bad[i]);
	run(fx, NULL, "4111111111111111", CLS_V_NUMBER);
	assert_int_equal(conf_of(fx, "payment_card"), H);
	assert_true(has_ev(fx, "payment_card", "checksum:luhn"));
	assert_true(has_ev(fx, "payment_card", "issuer:visa"));
	run(fx, NULL, "4111111111111111.0", CLS_V_NUMBER);
	assert_int_equal(conf_of(fx, "payment_card"), 0);
	/* Luhn-valid but no scheme issues it: only with a field name */
	nope(fx, "payment_card", "1234567812345670");
	run(fx, "card_no", "1234567812345670", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "payment_card"), H);
	/* a valid resident ID is not also a UnionPay card, even when its
	 * digits pass Luhn */
	for (int seq = 0; seq < 1000; seq++) {
		char d17[32], id[19];
		int sum = 0;

		snprintf(d17, sizeof(d17), "62010219900307%03d", seq % 1000);
		mkid(id, d17);
		if (id[17] == 'X')
			continue;
		for (int i = 17, dbl = 0; i >= 0; i--, dbl = !dbl) {
			int v = id[i] - '0';

			if (dbl && (v *= 2) > 9)
				v -= 9;
			sum += v;
		}
		if (sum % 10 != 0)
			continue;
		run(fx, NULL, id, CLS_V_STRING);
		assert_int_equal(conf_of(fx, "cn_resident_id"), H);
		assert_int_equal(conf_of(fx, "payment_card"), 0);
		break;
	}
}

static void
test_iban(void **state)
{
	struct fx *fx = *state;

	want(fx, "iban", "GB82 WEST 1234 5698 7654 32", H);
	want(fx, "iban", "GB82WEST12345698765432", H);
	want(fx, "iban", "DE89370400440532013000", H);
	want(fx, "iban", "DE89 3704 0044 0532 0130 00", H);
	want(fx, "iban", "FR1420041010050500013M02606", H);
	want(fx, "iban", "NO9386011117947", H);
	want(fx, "iban", "de89370400440532013000", H);
	nope(fx, "iban", "GB83 WEST 1234 5698 7654 32");	/* mod 97 */
	nope(fx, "iban", "DE8937040044053201300");		/* length */
	nope(fx, "iban", "XX89370400440532013000");		/* country */
	nope(fx, "iban", "DE89 370 4004 4053 2013 000");	/* grouping */
	run(fx, NULL, "DE89370400440532013000", CLS_V_STRING);
	assert_true(has_ev(fx, "iban", "checksum:mod97"));
}

static void
test_us_ssn(void **state)
{
	struct fx *fx = *state;
	static const char *bad[] = { "000-12-3456", "666-12-3456",
	    "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000",
	    "078-05-1120", "219-09-9999", "123-45-6789", "12-345-6789",
	    "123-456-789" };

	/* weak: never on its own */
	nope(fx, "us_ssn", "536-22-1234");
	nope(fx, "us_ssn", "536221234");
	run(fx, "ssn", "536-22-1234", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "us_ssn"), H);
	run(fx, "socialSecurityNumber", "536221234", CLS_V_NUMBER);
	assert_int_equal(conf_of(fx, "us_ssn"), H);
	run(fx, "ssn", "536 22 1234", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "us_ssn"), H);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		run(fx, "ssn", bad[i], CLS_V_STRING);
		if (has_ev(fx, "us_ssn", "value:us_ssn"))
			fail_msg("ssn %s validated", bad[i]);
	}
}

static void
test_cn_uscc(void **state)
{
	struct fx *fx = *state;

	want(fx, "cn_uscc", "91350100M000100Y43", H);
	nope(fx, "cn_uscc", "91350100M000100Y44");
	nope(fx, "cn_uscc", "91350100M000100Y4");
	nope(fx, "cn_uscc", "91350100I000100Y43");	/* I is not used */
	nope(fx, "cn_uscc", "01350100M000100Y43");
	run(fx, NULL, "91350100M000100Y43", CLS_V_STRING);
	assert_true(has_ev(fx, "cn_uscc", "checksum:gb32100"));
}

static void
test_ip(void **state)
{
	struct fx *fx = *state;

	want(fx, "ipv4", "192.168.1.10", M);
	want(fx, "ipv4", "8.8.8.8", M);
	nope(fx, "ipv4", "256.1.1.1");
	nope(fx, "ipv4", "1.2.3");
	nope(fx, "ipv4", "01.2.3.4");
	nope(fx, "ipv4", "10.0.19041.1");
	want(fx, "ipv6", "2001:db8::1", M);
	want(fx, "ipv6", "fe80::1ff:fe23:4567:890a", M);
	want(fx, "ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", M);
	want(fx, "ipv6", "::ffff:192.0.2.1", M);
	want(fx, "ipv6", "dead:beef::cafe", M);
	nope(fx, "ipv6", "12:30:45");
	nope(fx, "ipv6", "00:1A:2B:3C:4D:5E");
	nope(fx, "ipv6", "::");
	nope(fx, "ipv6", "2001:db8:::1");
	run(fx, "client_ip", "10.1.2.3", CLS_V_STRING);
	assert_int_equal(conf_of(fx, "ipv4"), H);
}

static void
test_name_normalise(void **state)
{
	char buf[64];
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "emailAddress", "email_address" }, { "e_mail", "e_mail" },
		{ "contact.email", "contact_email" }, { "E-Mail", "e_mail" },
		{ "HTTPServer", "http_server" }, { "EMAIL", "email" },
		{ "email2", "email_2" }, { "  phone  number ", "phone_number" },
		{ "手机号", "手机号" }, { "客户Email", "客户email" },
		{ "$.a[0]", "a_0" }, { "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		cls_name_normalise(cases[i].in, strlen(cases[i].in), buf,
		    sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}
	/* truncation keeps a NUL */
	assert_int_equal(cls_name_normalise("abcdef", 6, buf, 4), 3);
	assert_string_equal(buf, "abc");
}

static void
test_field_names(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *name, *cls;
	} hit[] = {
		{ "email", "email" }, { "emailAddress", "email" },
		{ "e_mail", "email" }, { "contact.email", "email" },
		{ "E-Mail", "email" }, { "邮箱", "email" }, { "电子邮件", "email" },
		{ "customerEmail", "email" }, { "email_primary", "email" },
		{ "phone", "phone" }, { "mobile", "cn_mobile" },
		{ "手机号", "cn_mobile" }, { "联系电话", "phone" },
		{ "联系人电话", "phone" }, { "id_number", "cn_resident_id" },
		{ "身份证号", "cn_resident_id" }, { "card_no", "payment_card" },
		{ "银行卡号", "payment_card" }, { "address", "address" },
		{ "家庭住址", "address" }, { "name", "name" },
		{ "full_name", "name" }, { "姓名", "name" },
		{ "客户姓名", "name" }, { "birth_date", "birth_date" },
		{ "出生日期", "birth_date" }, { "dateOfBirth", "birth_date" },
		{ "ssn", "us_ssn" }, { "iban", "iban" },
		{ "统一社会信用代码", "cn_uscc" }, { "ip_address", "ipv4" },
	};
	static const char *miss[] = { "email_opt_in", "emailOptIn",
	    "phone_verified", "card_count", "is_email", "has_phone",
	    "isMobile", "company_name", "product_name", "city_name",
	    "username", "mac_address", "email_template", "是否手机验证",
	    "手机状态", "公司名称", "order_id", "notes", "title",
	    "phone_country_code", "card_type" };

	for (size_t i = 0; i < sizeof(hit) / sizeof(*hit); i++) {
		run(fx, hit[i].name, "some value 12345", CLS_V_STRING);
		if (conf_of(fx, hit[i].cls) < CLS_CONF_LOW)
			fail_msg("field %s: no %s", hit[i].name, hit[i].cls);
	}
	for (size_t i = 0; i < sizeof(miss) / sizeof(*miss); i++) {
		run(fx, miss[i], "some value 12345", CLS_V_STRING);
		if (fx->n != 0)
			fail_msg("field %s matched %s", miss[i],
			    fx->m[0].class_name);
	}
}

/* --- custom classes ----------------------------------------------------- */

#define ITEM(t, l, c)	{ (t), { "p.yaml", (l), (c) } }

static struct cls_set *
build(const struct cls_class_def *d, size_t n, struct pol_errs *errs)
{
	return cls_set_new(d, n, errs);
}

static void
test_custom(void **state)
{
	struct cls_item values[] = { ITEM("phone", 3, 5), ITEM("cn_mobile", 3, 12) };
	struct cls_item fields[] = { ITEM("tel", 4, 5), ITEM("身份证号", 4, 10) };
	struct cls_item paths[] = { ITEM("$.**.notes", 6, 5) };
	struct cls_item in_text[] = { ITEM("email", 7, 5), ITEM("phone", 7, 9),
	    ITEM("cn_mobile", 7, 16) };
	struct cls_item re[] = { ITEM("^VIP-[0-9]{6}$", 8, 5) };
	struct cls_item words[] = { ITEM("diabetes", 9, 5), ITEM("癌症", 9, 9) };
	struct cls_item names[] = { ITEM("name", 10, 5) };
	struct cls_item cpaths[] = { ITEM("$.customers[*].contact.*", 11, 5) };
	struct cls_class_def d[] = {
		{ .name = "phone", .level = CLS_RESTRICTED, .values = values,
		  .nvalues = 2, .fields = fields, .nfields = 1 },
		{ .name = "notes", .level = CLS_CONFIDENTIAL, .paths = paths,
		  .npaths = 1, .in_text = in_text, .nin_text = 3 },
		{ .name = "vip", .level = CLS_CONFIDENTIAL, .regex = re,
		  .nregex = 1, .min_confidence = CLS_CONF_MEDIUM },
		{ .name = "health", .level = CLS_SECRET, .words = words,
		  .nwords = 2 },
		{ .name = "person", .level = CLS_RESTRICTED, .fields = names,
		  .nfields = 1 },
		{ .name = "contact", .level = CLS_RESTRICTED, .paths = cpaths,
		  .npaths = 1 },
		{ .name = "natid", .level = CLS_SECRET, .fields = fields + 1,
		  .nfields = 1, .min_confidence = CLS_CONF_HIGH },
	};
	struct pol_errs *errs = pol_errs_new();
	struct cls_set *set = build(d, 7, errs);
	struct cls_scratch *scr = cls_scratch_new();
	struct cls_match m[16];
	struct cls_seg notes[] = { { "customers", 9, 0, 0 }, { NULL, 0, 3, 0 },
	    { "notes", 5, 0, 0 } };
	struct cls_seg contact[] = { { "customers", 9, 0, 0 },
	    { NULL, 0, 0, 0 }, { "contact", 7, 0, 0 }, { "fax", 3, 0, 0 } };
	struct cls_seg other[] = { { "orders", 6, 0, 0 }, { NULL, 0, 0, 0 },
	    { "comment", 7, 0, 0 } };
	struct cls_path pn = { notes, 3, 0 };
	struct cls_path pc = { contact, 4, 0 };
	struct cls_path po = { other, 3, 0 };
	const char *txt = "call 13800138000 or a@b.com";
	struct cls_field f = { "notes", 5, &pn, txt, strlen(txt), CLS_V_STRING };
	size_t n;

	(void)state;
	assert_non_null(set);
	assert_int_equal(pol_errs_total(errs), 0);
	assert_int_equal(cls_set_count(set), 7);
	assert_int_equal(cls_set_find(set, "vip"), 2);
	assert_int_equal(cls_set_find(set, "nope"), -1);
	assert_string_equal(cls_set_class_name(set, 1), "notes");
	assert_null(cls_set_class_name(set, 99));
	assert_int_equal(cls_set_class_level(set, 3), CLS_SECRET);

	/* in_text under a path: spans only, class "notes" */
	n = cls_classify(set, scr, &f, m, 16);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].class_name, "notes");
	assert_int_equal(m[0].span, 1);
	assert_int_equal(m[0].start, 5);
	assert_int_equal(m[0].end, 16);
	assert_string_equal(m[0].detector, "text:phone");
	/* found by phone and cn_mobile: one match, both in the evidence */
	assert_int_equal(m[0].nevidence, 3);
	assert_string_equal(m[0].evidence[2], "text:cn_mobile");
	assert_int_equal(m[1].start, 20);
	assert_int_equal(m[1].end, 27);
	assert_string_equal(m[1].detector, "text:email");
	/* the same text elsewhere: no spans (the glob does not match) */
	f.path = &po;
	f.name = "comment";
	f.name_len = 7;
	assert_int_equal(cls_classify(set, scr, &f, m, 16), 0);
	/* cap: the count goes on past it */
	f.path = &pn;
	assert_true(cls_classify(set, scr, &f, m, 1) > 1);
	assert_true(cls_classify(set, scr, &f, m, 0) > 0);

	/* a path alone classifies the whole field */
	f.path = &pc;
	f.name = "fax";
	f.name_len = 3;
	f.value = "whatever";
	f.len = 8;
	n = cls_classify(set, scr, &f, m, 16);
	assert_true(n >= 1);
	assert_string_equal(m[n - 1].class_name, "contact");
	assert_string_equal(m[n - 1].detector, "path:contact");
	assert_string_equal(m[n - 1].evidence[0], "path:$.customers[*].contact.*");

	/* literal field name "tel" brings support; value and name agree */
	f.path = NULL;
	f.name = "home-tel";
	f.name_len = 8;
	f.value = "13800138000";
	f.len = 11;
	n = cls_classify(set, scr, &f, m, 16);
	assert_true(n >= 1);
	assert_string_equal(m[0].class_name, "phone");
	assert_int_equal(m[0].confidence, CLS_CONF_HIGH);
	assert_string_equal(m[0].evidence[0], "field:phone");

	/* regex with min_confidence medium */
	f.name = "code";
	f.name_len = 4;
	f.value = "VIP-123456";
	f.len = 10;
	n = cls_classify(set, scr, &f, m, 16);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].detector, "regex:vip");
	assert_int_equal(m[0].confidence, CLS_CONF_MEDIUM);
	f.value = "VIP-12345";
	f.len = 9;
	assert_int_equal(cls_classify(set, scr, &f, m, 16), 0);
	/* without scratch: same answer (allocates per call) */
	f.value = "VIP-123456";
	f.len = 10;
	assert_int_equal(cls_classify(set, NULL, &f, m, 16), 1);

	/* words: ASCII whole words, case-insensitive; others as substrings */
	f.value = "History of Diabetes.";
	f.len = strlen(f.value);
	n = cls_classify(set, scr, &f, m, 16);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].detector, "words:health");
	f.value = "prediabetes";
	f.len = strlen(f.value);
	assert_int_equal(cls_classify(set, scr, &f, m, 16), 0);
	f.value = "家族有癌症史";
	f.len = strlen(f.value);
	assert_int_equal(cls_classify(set, scr, &f, m, 16), 1);

	/* fields: [name] brings the built-in name dictionary */
	f.name = "姓名";
	f.name_len = strlen(f.name);
	f.value = "张三";
	f.len = strlen(f.value);
	n = cls_classify(set, scr, &f, m, 16);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].class_name, "person");
	assert_string_equal(m[0].detector, "field:name");
	/* min_confidence high drops a name-only (medium) match */
	f.name = "身份证号";
	f.name_len = strlen(f.name);
	assert_int_equal(cls_classify(set, scr, &f, m, 16), 0);

	cls_scratch_free(scr);
	cls_set_free(set);
	pol_errs_free(errs);
}

static void
test_load_errors(void **state)
{
	struct cls_item badv[] = { ITEM("emial", 3, 14), ITEM("name", 3, 21) };
	struct cls_item badre[] = { ITEM("^VIP-[0-9{6}$", 8, 12),
	    ITEM("(unclosed", 9, 12), ITEM("ok", 10, 12) };
	struct cls_item badp[] = { ITEM("notes", 5, 9), ITEM("$.a[x]", 6, 9) };
	struct cls_item badt[] = { ITEM("address", 7, 3) };
	struct cls_item badw[] = { ITEM("@/nonexistent/words.txt", 11, 7) };
	struct cls_class_def d[] = {
		{ .name = "a", .src = { "p.yaml", 2, 3 }, .values = badv,
		  .nvalues = 2 },
		{ .name = "b", .src = { "p.yaml", 7, 3 }, .regex = badre,
		  .nregex = 3 },
		{ .name = "c", .src = { "p.yaml", 4, 3 }, .paths = badp,
		  .npaths = 2, .in_text = badt, .nin_text = 1 },
		{ .name = "a", .src = { "p.yaml", 12, 3 }, .words = badw,
		  .nwords = 1 },
		{ .name = "empty", .src = { "p.yaml", 13, 3 } },
	};
	struct pol_errs *errs = pol_errs_new();
	const char *e;

	(void)state;
	assert_null(build(d, 5, errs));
	for (size_t i = 0; i < pol_errs_total(errs); i++)
		printf("  %s\n", pol_errs_get(errs, i));
	assert_int_equal(pol_errs_count(errs), 10);
	e = pol_errs_get(errs, 0);
	assert_non_null(strstr(e, "p.yaml:3:14: error: unknown value detector "
	    "\"emial\""));
	assert_non_null(strstr(pol_errs_get(errs, 1), "p.yaml:3:21:"));
	/* regex errors point into the pattern: col + PCRE2's offset */
	assert_non_null(strstr(pol_errs_get(errs, 2), "p.yaml:8:25: error: "
	    "bad regex"));
	assert_non_null(strstr(pol_errs_get(errs, 3), "p.yaml:9:"));
	assert_non_null(strstr(pol_errs_get(errs, 4), "p.yaml:7:3: error: "
	    "unknown in_text detector \"address\""));
	assert_non_null(strstr(pol_errs_get(errs, 5), "p.yaml:5:9: error: bad "
	    "path glob \"notes\""));
	assert_non_null(strstr(pol_errs_get(errs, 6), "p.yaml:6:13:"));
	assert_non_null(strstr(pol_errs_get(errs, 7), "class a defined twice"));
	assert_non_null(strstr(pol_errs_get(errs, 8), "cannot read word list"));
	assert_non_null(strstr(pol_errs_get(errs, 9), "class empty has no "
	    "detectors"));
	pol_errs_free(errs);
	/* errs may be NULL */
	assert_null(build(d, 1, NULL));
	cls_set_free(NULL);
	cls_scratch_free(NULL);
}

static void
test_words_file(void **state)
{
	char path[] = "/tmp/cls_words_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct cls_item w[1];
	struct cls_class_def d = { .name = "w", .words = w, .nwords = 1 };
	struct cls_set *set;
	struct cls_match m[4];
	struct cls_field fl = { NULL, 0, NULL, "Project Falcon launch", 21,
	    CLS_V_STRING };
	char item[64];

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# secret projects\nfalcon\n  osprey  \n\n", f);
	fclose(f);
	snprintf(item, sizeof(item), "@%s", path);
	w[0].text = item;
	w[0].src.file = "p.yaml";
	set = cls_set_new(&d, 1, NULL);
	assert_non_null(set);
	assert_int_equal(cls_classify(set, NULL, &fl, m, 4), 1);
	fl.value = "OSPREY";
	fl.len = 6;
	assert_int_equal(cls_classify(set, NULL, &fl, m, 4), 1);
	fl.value = "secret projects";
	fl.len = 15;
	assert_int_equal(cls_classify(set, NULL, &fl, m, 4), 0);
	cls_set_free(set);
	unlink(path);
}

static void
test_globs(void **state)
{
	static const struct {
		const char *glob;
		int match;
	} cases[] = {
		{ "$.customers[*].notes", 1 }, { "$.customers[3].notes", 1 },
		{ "$.customers[2].notes", 0 }, { "$.**.notes", 1 },
		{ "$.**", 1 }, { "$.*.*.notes", 1 }, { "$.customers.*.*", 1 },
		{ "$.customers[*]", 0 }, { "$['customers'][*]['notes']", 1 },
		{ "$.**.customers.**.notes", 1 }, { "$.notes", 0 },
		{ "$.**.note", 0 }, { "$", 0 },
	};
	struct cls_seg segs[] = { { "customers", 9, 0, 0 }, { NULL, 0, 3, 0 },
	    { "notes", 5, 0, 0 } };
	struct cls_path p = { segs, 3, 0 };
	struct cls_path root = { NULL, 0, 0 };
	const char *err;
	size_t pos;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct cls_glob *g = cls_glob_compile(cases[i].glob, &err, &pos);

		assert_non_null(g);
		if (cls_glob_match(g, &p) != cases[i].match)
			fail_msg("glob %s: want %d", cases[i].glob,
			    cases[i].match);
		cls_glob_free(g);
	}
	{
		struct cls_glob *g = cls_glob_compile("$", &err, &pos);

		assert_true(cls_glob_match(g, &root));
		cls_glob_free(g);
	}
	assert_null(cls_glob_compile("customers", &err, &pos));
	assert_null(cls_glob_compile("$.", &err, &pos));
	assert_int_equal(pos, 2);
	assert_null(cls_glob_compile("$[1", &err, &pos));
	assert_null(cls_glob_compile("$['x", &err, &pos));
	assert_null(cls_glob_compile("$[99999999999999999999999]", &err, &pos));
}

/* --- free text --------------------------------------------------------- */

struct spans {
	size_t	n;
	int	kind[16];
	size_t	st[16], en[16];
};

static void
collect(void *ud, int kind, size_t start, size_t end,
    const struct cls_vhit *h)
{
	struct spans *s = ud;

	(void)h;
	if (s->n < 16) {
		s->kind[s->n] = kind;
		s->st[s->n] = start;
		s->en[s->n++] = end;
	}
}

static void
spans_of(const char *t, struct spans *s)
{
	memset(s, 0, sizeof(*s));
	cls_text_scan(t, strlen(t), CLS_VALUE_KINDS, collect, s);
}

static void
test_text(void **state)
{
	struct spans s;
	const char *t;

	(void)state;
	spans_of("call 13800138000", &s);
	assert_int_equal(s.n, 2);		/* phone and cn_mobile */
	assert_int_equal(s.st[0], 5);
	assert_int_equal(s.en[0], 16);
	spans_of("请联系13800138000。", &s);
	assert_true(s.n >= 1);
	assert_int_equal(s.st[0], 9);
	assert_int_equal(s.en[0], 20);
	t = "mail john.doe@example.com, or (415) 555-2671.";
	spans_of(t, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.kind[0], CLS_K_EMAIL);
	assert_int_equal(s.st[0], 5);
	assert_int_equal(s.en[0], 25);
	assert_int_equal(s.kind[1], CLS_K_PHONE);
	assert_int_equal(s.st[1], 30);
	assert_int_equal(s.en[1], 44);
	/* look-alikes: order numbers, dates, ISBNs, prices, tracking */
	spans_of("order ORD-13800138000 on 2024-01-15, ISBN 978-3-16-148410-0, "
	    "total $1,299.00, tracking 9400 1000 0000 0000 0000 00, "
	    "card 4111 1111 1111 1112, v1.2.3.4", &s);
	assert_int_equal(s.n, 0);
	spans_of("Version 2.4.1.3 released; 版本 1.0.0.1", &s);
	assert_int_equal(s.n, 0);
	spans_of("13800138000@qq.com", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.kind[0], CLS_K_EMAIL);
	spans_of("IBAN DE89 3704 0044 0532 0130 00 thanks", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.kind[0], CLS_K_IBAN);
	assert_int_equal(s.en[0], 32);
	spans_of("IBAN DE88 3704 0044 0532 0130 00 thanks", &s);
	assert_int_equal(s.n, 0);
	spans_of("from fe80::1ff:fe23:4567:890a and 10.0.0.1.", &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.kind[0], CLS_K_IPV6);
	assert_int_equal(s.kind[1], CLS_K_IPV4);
	assert_int_equal(s.en[1], 42);
	/* SSN needs its context words */
	spans_of("ref 536-22-1234", &s);
	assert_int_equal(s.n, 0);
	spans_of("SSN: 536-22-1234", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.kind[0], CLS_K_US_SSN);
	spans_of("身份证 11010519491231002X，卡号 6212345678901232", &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.kind[0], CLS_K_CN_RESIDENT_ID);
	assert_int_equal(s.kind[1], CLS_K_PAYMENT_CARD);
	spans_of("", &s);
	assert_int_equal(s.n, 0);
	spans_of("a+b (c) +++ ((( @@@ ::: 1", &s);
	assert_int_equal(s.n, 0);
}

/* One set, read by several threads at once, each with its own scratch:
 * every thread sees the same answers. */
static void *
worker(void *arg)
{
	const struct cls_set *set = arg;
	struct cls_scratch *scr = cls_scratch_new();
	struct cls_match m[16];
	static const char *v[] = { "john@example.com", "13800138000",
	    "11010519491231002X", "call (415) 555-2671 now", "VIP-123456",
	    "nothing here" };
	static const size_t want_n[] = { 1, 2, 1, 1, 0, 0 };
	intptr_t bad = 0;

	for (int i = 0; i < 20000; i++) {
		struct cls_field f = { NULL, 0, NULL, v[i % 6], strlen(v[i % 6]),
		    CLS_V_STRING };

		if (cls_classify(set, scr, &f, m, 16) != want_n[i % 6])
			bad++;
	}
	cls_scratch_free(scr);
	return (void *)bad;
}

static void
test_threads(void **state)
{
	struct cls_set *set = cls_set_builtin();
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, set), 0);
	for (int i = 0; i < 4; i++) {
		void *r;

		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_int_equal((intptr_t)r, 0);
	}
	cls_set_free(set);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(cls_level_name(CLS_SECRET), "secret");
	assert_int_equal(cls_level_parse("restricted"), CLS_RESTRICTED);
	assert_int_equal(cls_level_parse("top"), -1);
	assert_string_equal(cls_conf_name(CLS_CONF_MEDIUM), "medium");
	assert_int_equal(cls_conf_parse("high"), CLS_CONF_HIGH);
	assert_int_equal(cls_conf_parse("none"), -1);
	assert_int_equal(cls_detector_count(), 13);
	assert_int_equal(cls_detector_find("iban", 4), CLS_K_IBAN);
	assert_true(cls_detector_is_value(cls_detector_find("ipv6", 4)));
	assert_false(cls_detector_is_value(cls_detector_find("name", 4)));
	assert_null(cls_detector_name(13));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_cn_mobile),
		cmocka_unit_test(test_cn_resident_id),
		cmocka_unit_test(test_payment_card),
		cmocka_unit_test(test_iban),
		cmocka_unit_test(test_us_ssn),
		cmocka_unit_test(test_cn_uscc),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_field_names),
	};
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_name_normalise),
		cmocka_unit_test(test_custom),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_words_file),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_names),
	};
	int rc = cmocka_run_group_tests_name("classifiers", tests, setup,
	    teardown);

	return rc | cmocka_run_group_tests_name("classifiers_api", plain, NULL,
	    NULL);
}
