/* classifiers/fields.c — field-name dictionaries (EN and ZH), name
 * normalisation and the per-set name table. */
#define _GNU_SOURCE 1
#include <stdlib.h>
#include <string.h>

#include "classifiers/internal.h"

#define K(x)	CLS_KBIT(CLS_K_##x)
#define PHONES	(K(PHONE) | K(CN_MOBILE))
#define IPS	(K(IPV4) | K(IPV6))
#define NATID	(K(CN_RESIDENT_ID) | K(US_SSN))
/* Matches only as the whole name (after qualifiers): "name" alone is a
 * person's name, "city_name" is not. */
#define EXACT	(1u << 30)
/* Table-only flags for single words (see negative[] and qualifier[]). */
#define NEG	(1u << 29)
#define QUAL	(1u << 28)

/*
 * Built-in dictionary, in normalised form (lower case, words joined by '_').
 * A name is looked up whole, then (after dropping qualifier words such as
 * "home" or "2" at its end) by its suffixes, longest first, so that
 * "customer_email" finds "email". CLS_KSTOP entries end the search with no
 * kind: "company_name" must not fall through to "name".
 */
struct dict_ent {
	const char	*name;
	uint32_t	 kinds;
};

static const struct dict_ent dict[] = {
	/* email */
	{ "email", K(EMAIL) }, { "e_mail", K(EMAIL) }, { "mail", K(EMAIL) | EXACT },
	{ "email_address", K(EMAIL) }, { "e_mail_address", K(EMAIL) },
	{ "mail_address", K(EMAIL) }, { "email_addr", K(EMAIL) },
	{ "emailaddress", K(EMAIL) }, { "emails", K(EMAIL) },
	{ "邮箱", K(EMAIL) }, { "电子邮件", K(EMAIL) }, { "电子邮箱", K(EMAIL) },
	{ "邮件地址", K(EMAIL) }, { "邮箱地址", K(EMAIL) }, { "电邮", K(EMAIL) },
	{ "电子邮件地址", K(EMAIL) }, { "邮件", K(EMAIL) },
	/* phones */
	{ "phone", K(PHONE) }, { "phone_number", K(PHONE) },
	{ "phone_no", K(PHONE) }, { "phone_num", K(PHONE) },
	{ "phonenumber", K(PHONE) }, { "telephone", K(PHONE) },
	{ "telephone_number", K(PHONE) }, { "tel", K(PHONE) },
	{ "tel_no", K(PHONE) }, { "telno", K(PHONE) }, { "fax", K(PHONE) },
	{ "fax_number", K(PHONE) }, { "msisdn", PHONES },
	{ "contact_number", K(PHONE) }, { "contact_phone", K(PHONE) },
	{ "phones", K(PHONE) }, { "landline", K(PHONE) },
	{ "mobile", PHONES }, { "mobile_phone", PHONES },
	{ "mobile_number", PHONES }, { "mobile_no", PHONES },
	{ "mobilephone", PHONES }, { "cell", PHONES | EXACT }, { "cellphone", PHONES },
	{ "cell_phone", PHONES }, { "cell_number", PHONES },
	{ "电话", K(PHONE) }, { "联系电话", K(PHONE) }, { "电话号码", K(PHONE) },
	{ "座机", K(PHONE) }, { "传真", K(PHONE) }, { "联系方式", K(PHONE) },
	{ "固定电话", K(PHONE) }, { "手机", PHONES }, { "手机号", PHONES },
	{ "手机号码", PHONES }, { "移动电话", PHONES },
	/* national identifiers */
	{ "id_number", NATID }, { "id_no", NATID }, { "id_num", NATID },
	{ "national_id", NATID }, { "national_id_number", NATID },
	{ "id_card", K(CN_RESIDENT_ID) }, { "id_card_no", K(CN_RESIDENT_ID) },
	{ "id_card_number", K(CN_RESIDENT_ID) },
	{ "identity_card", K(CN_RESIDENT_ID) },
	{ "identity_number", NATID }, { "resident_id", K(CN_RESIDENT_ID) },
	{ "citizen_id", K(CN_RESIDENT_ID) }, { "idcard", K(CN_RESIDENT_ID) },
	{ "shenfenzheng", K(CN_RESIDENT_ID) }, { "sfz", K(CN_RESIDENT_ID) },
	{ "sfzh", K(CN_RESIDENT_ID) }, { "身份证", K(CN_RESIDENT_ID) },
	{ "身份证号", K(CN_RESIDENT_ID) }, { "身份证号码", K(CN_RESIDENT_ID) },
	{ "公民身份号码", K(CN_RESIDENT_ID) }, { "证件号", K(CN_RESIDENT_ID) },
	{ "证件号码", K(CN_RESIDENT_ID) }, { "居民身份证", K(CN_RESIDENT_ID) },
	{ "ssn", K(US_SSN) }, { "social_security_number", K(US_SSN) },
	{ "social_security_no", K(US_SSN) }, { "social_security", K(US_SSN) },
	{ "ss_number", K(US_SSN) }, { "socialsecuritynumber", K(US_SSN) },
	{ "社会安全号", K(US_SSN) }, { "社会安全号码", K(US_SSN) },
	/* cards and accounts */
	{ "card_no", K(PAYMENT_CARD) }, { "card_number", K(PAYMENT_CARD) },
	{ "card_num", K(PAYMENT_CARD) }, { "cardnumber", K(PAYMENT_CARD) },
	{ "credit_card", K(PAYMENT_CARD) },
	{ "credit_card_number", K(PAYMENT_CARD) },
	{ "creditcard", K(PAYMENT_CARD) }, { "cc_number", K(PAYMENT_CARD) },
	{ "cc_num", K(PAYMENT_CARD) }, { "ccn", K(PAYMENT_CARD) },
	{ "pan", K(PAYMENT_CARD) | EXACT }, { "debit_card", K(PAYMENT_CARD) },
	{ "bank_card", K(PAYMENT_CARD) }, { "bank_card_no", K(PAYMENT_CARD) },
	{ "payment_card", K(PAYMENT_CARD) }, { "card", K(PAYMENT_CARD) | EXACT },
	{ "银行卡", K(PAYMENT_CARD) }, { "银行卡号", K(PAYMENT_CARD) },
	{ "卡号", K(PAYMENT_CARD) }, { "信用卡", K(PAYMENT_CARD) },
	{ "信用卡号", K(PAYMENT_CARD) }, { "借记卡号", K(PAYMENT_CARD) },
	{ "iban", K(IBAN) }, { "iban_number", K(IBAN) }, { "iban_code", K(IBAN) },
	{ "bank_account", K(IBAN) }, { "bank_account_number", K(IBAN) },
	{ "银行账号", K(IBAN) }, { "银行账户", K(IBAN) },
	{ "国际银行账号", K(IBAN) },
	/* company identifiers */
	{ "uscc", K(CN_USCC) }, { "usci", K(CN_USCC) },
	{ "social_credit_code", K(CN_USCC) },
	{ "unified_social_credit_code", K(CN_USCC) },
	{ "credit_code", K(CN_USCC) }, { "统一社会信用代码", K(CN_USCC) },
	{ "社会信用代码", K(CN_USCC) }, { "信用代码", K(CN_USCC) },
	{ "纳税人识别号", K(CN_USCC) },
	/* network */
	{ "ip", IPS }, { "ip_address", IPS }, { "ip_addr", IPS },
	{ "ipaddress", IPS }, { "ipv4", K(IPV4) }, { "ipv4_address", K(IPV4) },
	{ "ipv6", K(IPV6) }, { "ipv6_address", K(IPV6) },
	{ "remote_addr", IPS }, { "client_ip", IPS }, { "x_forwarded_for", IPS },
	{ "ip地址", IPS },
	/* names of people */
	{ "name", K(NAME) | EXACT }, { "full_name", K(NAME) }, { "fullname", K(NAME) },
	{ "first_name", K(NAME) }, { "firstname", K(NAME) },
	{ "last_name", K(NAME) }, { "lastname", K(NAME) },
	{ "given_name", K(NAME) }, { "family_name", K(NAME) },
	{ "middle_name", K(NAME) }, { "surname", K(NAME) },
	{ "maiden_name", K(NAME) }, { "legal_name", K(NAME) },
	{ "display_name", K(NAME) }, { "real_name", K(NAME) },
	{ "customer_name", K(NAME) }, { "contact_name", K(NAME) },
	{ "client_name", K(NAME) }, { "person_name", K(NAME) },
	{ "holder_name", K(NAME) }, { "cardholder_name", K(NAME) },
	{ "account_holder", K(NAME) }, { "employee_name", K(NAME) },
	{ "patient_name", K(NAME) }, { "recipient_name", K(NAME) },
	{ "sender_name", K(NAME) }, { "spouse_name", K(NAME) },
	{ "lead_name", K(NAME) }, { "owner_name", K(NAME) },
	{ "nickname", K(NAME) }, { "name_cn", K(NAME) }, { "name_en", K(NAME) },
	{ "contact_person", K(NAME) },
	{ "姓名", K(NAME) }, { "名字", K(NAME) }, { "全名", K(NAME) },
	{ "真实姓名", K(NAME) }, { "联系人", K(NAME) }, { "姓", K(NAME) | EXACT },
	{ "名", K(NAME) | EXACT }, { "客户名", K(NAME) },
	/* addresses */
	{ "address", K(ADDRESS) }, { "addr", K(ADDRESS) },
	{ "street", K(ADDRESS) }, { "street_address", K(ADDRESS) },
	{ "address_line", K(ADDRESS) }, { "address_line1", K(ADDRESS) },
	{ "address_line2", K(ADDRESS) }, { "addressline1", K(ADDRESS) },
	{ "home_address", K(ADDRESS) }, { "mailing_address", K(ADDRESS) },
	{ "postal_address", K(ADDRESS) }, { "residential_address", K(ADDRESS) },
	{ "地址", K(ADDRESS) }, { "住址", K(ADDRESS) }, { "家庭住址", K(ADDRESS) },
	{ "居住地址", K(ADDRESS) }, { "通讯地址", K(ADDRESS) },
	{ "联系地址", K(ADDRESS) }, { "收货地址", K(ADDRESS) },
	{ "户籍地址", K(ADDRESS) }, { "家庭地址", K(ADDRESS) },
	/* birth dates */
	{ "birth_date", K(BIRTH_DATE) }, { "birthdate", K(BIRTH_DATE) },
	{ "date_of_birth", K(BIRTH_DATE) }, { "dob", K(BIRTH_DATE) },
	{ "birthday", K(BIRTH_DATE) }, { "birth_day", K(BIRTH_DATE) },
	{ "born_on", K(BIRTH_DATE) }, { "birth", K(BIRTH_DATE) | EXACT },
	{ "出生日期", K(BIRTH_DATE) }, { "生日", K(BIRTH_DATE) },
	{ "出生年月", K(BIRTH_DATE) }, { "出生年月日", K(BIRTH_DATE) },
	/* look-alikes that are not personal */
	{ "company_name", CLS_KSTOP }, { "product_name", CLS_KSTOP },
	{ "file_name", CLS_KSTOP }, { "filename", CLS_KSTOP },
	{ "host_name", CLS_KSTOP }, { "hostname", CLS_KSTOP },
	{ "user_name", CLS_KSTOP }, { "username", CLS_KSTOP },
	{ "domain_name", CLS_KSTOP }, { "class_name", CLS_KSTOP },
	{ "table_name", CLS_KSTOP }, { "field_name", CLS_KSTOP },
	{ "event_name", CLS_KSTOP }, { "app_name", CLS_KSTOP },
	{ "service_name", CLS_KSTOP }, { "brand_name", CLS_KSTOP },
	{ "project_name", CLS_KSTOP }, { "team_name", CLS_KSTOP },
	{ "org_name", CLS_KSTOP }, { "organization_name", CLS_KSTOP },
	{ "organisation_name", CLS_KSTOP }, { "account_name", CLS_KSTOP },
	{ "campaign_name", CLS_KSTOP }, { "plan_name", CLS_KSTOP },
	{ "stage_name", CLS_KSTOP }, { "tag_name", CLS_KSTOP },
	{ "mac_address", CLS_KSTOP }, { "mac_addr", CLS_KSTOP },
	{ "web_address", CLS_KSTOP }, { "url", CLS_KSTOP },
	{ "card_type", CLS_KSTOP }, { "card_brand", CLS_KSTOP },
	{ "gift_card", CLS_KSTOP }, { "scorecard", CLS_KSTOP },
	{ "business_card", CLS_KSTOP }, { "rate_card", CLS_KSTOP },
	{ "ip_version", CLS_KSTOP }, { "voicemail", CLS_KSTOP },
	{ "公司名称", CLS_KSTOP }, { "产品名称", CLS_KSTOP },
	{ "文件名", CLS_KSTOP }, { "用户名", CLS_KSTOP },
};

/* A word anywhere in the name that says the field is about the data, not the
 * data itself: email_opt_in, phone_verified, card_count, is_*, has_*. */
static const char *const negative[] = {
	"is", "has", "opt", "optin", "optout", "opted", "verified", "verify",
	"verification", "validated", "valid", "confirmed", "count", "cnt",
	"total", "enabled", "disabled", "flag", "status", "type", "consent",
	"subscribed", "unsubscribed", "bounced", "template", "format",
	"pattern", "regex", "length", "len", "hash", "hashed", "sha", "md",
	"domain", "provider", "preference", "preferences", "prefs", "allowed",
	"required", "changed", "updated", "sent", "visible", "visibility",
	"policy", "label", "error", "errors", "country", "prefix",
	"expiry", "exp", "expires", "cvv", "bin", "mask",
	"masked", "ext", "extension", "fingerprint", "token", "tokenized",
	"encrypted", "hint", "placeholder", "field", "column",
};
static const char *const negative_zh[] = {
	"是否", "数量", "次数", "状态", "类型", "验证", "模板", "格式", "开关",
	"有无", "个数", "区号", "有效期",
};
/* Words at the end of a name that qualify it: phone_home, email_2. */
static const char *const qualifier[] = {
	"primary", "secondary", "home", "work", "personal", "private",
	"business", "office", "other", "alt", "alternate", "main", "backup",
	"1", "2", "3", "value", "raw", "plain", "cn", "us", "intl", "new",
	"old", "current", "list",
};


#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define NAME_MAX_LEN	128

size_t
cls_name_normalise(const char *name, size_t len, char *buf, size_t size)
{
	size_t o = 0;
	int pend = 0;

	if (size == 0)
		return 0;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];
		unsigned char pc = i > 0 ? (unsigned char)name[i - 1] : 0;
		unsigned char nc = i + 1 < len ? (unsigned char)name[i + 1] : 0;

		if (c == '_' || c == '-' || c == '.' || c == ' ' || c == '/' ||
		    c == ':' || c == '\t' || c == '$' || c == '[' || c == ']') {
			pend = o > 0;
			continue;
		}
		if (c >= '0' && c <= '9' && ((pc | 0x20) >= 'a' &&
		    (pc | 0x20) <= 'z'))
			pend = 1;	/* email2 -> email_2, ipv4 -> ipv_4 */
		if (c >= 'A' && c <= 'Z') {
			/* emailAddress -> email_address; HTTPServer -> http_server */
			if ((pc >= 'a' && pc <= 'z') || (pc >= '0' && pc <= '9') ||
			    (pc >= 'A' && pc <= 'Z' && nc >= 'a' && nc <= 'z'))
				pend = pend || o > 0;
			c = (unsigned char)(c | 0x20);
		}
		if (pend && o + 2 < size) {
			buf[o++] = '_';
		}
		pend = 0;
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return o;
}

/* --- the table ------------------------------------------------------------ */

struct name_ent {
	const char	*key;		/* static, or owned when owned = 1 */
	size_t		 len;
	uint32_t	 kinds;
	int		 owned;
	uint32_t	*classes;	/* owned */
	size_t		 nclasses;
};

struct zh_ent {
	const char	*key;		/* borrowed from a name_ent */
	size_t		 len;
	struct name_ent	*ent;
};

struct cls_names {
	struct name_ent	*ents;		/* open addressing, size a power of 2 */
	size_t		 size, used;
	struct zh_ent	*zh;		/* names with non-ASCII bytes, longest first */
	size_t		 nzh;
};

static uint32_t
fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct name_ent *
get(const struct cls_names *t, const char *s, size_t n)
{
	size_t i = fnv1a(s, n) & (t->size - 1);

	for (;; i = (i + 1) & (t->size - 1)) {
		struct name_ent *e = &t->ents[i];

		if (e->key == NULL)
			return NULL;
		if (e->len == n && memcmp(e->key, s, n) == 0)
			return e;
	}
}

static int
grow(struct cls_names *t)
{
	struct name_ent *old = t->ents;
	size_t osize = t->size;

	t->size = osize ? osize * 2 : 512;
	if ((t->ents = calloc(t->size, sizeof(*t->ents))) == NULL) {
		t->ents = old;
		t->size = osize;
		return -1;
	}
	for (size_t i = 0; i < osize; i++) {
		size_t j;

		if (old[i].key == NULL)
			continue;
		j = fnv1a(old[i].key, old[i].len) & (t->size - 1);
		while (t->ents[j].key != NULL)
			j = (j + 1) & (t->size - 1);
		t->ents[j] = old[i];
	}
	free(old);
	return 0;
}

/* Returns the entry for s (copied when owned), inserting it if new. */
static struct name_ent *
put(struct cls_names *t, const char *s, size_t n, int copy)
{
	struct name_ent *e;
	size_t i;
	char *k;

	if ((e = get(t, s, n)) != NULL)
		return e;
	if ((t->used + 1) * 2 > t->size && grow(t) == -1)
		return NULL;
	i = fnv1a(s, n) & (t->size - 1);
	while (t->ents[i].key != NULL)
		i = (i + 1) & (t->size - 1);
	e = &t->ents[i];
	if (copy) {
		if ((k = malloc(n + 1)) == NULL)
			return NULL;
		memcpy(k, s, n);
		k[n] = '\0';
		e->key = k;
		e->owned = 1;
	} else
		e->key = s;
	e->len = n;
	t->used++;
	return e;
}

struct cls_names *
cls_names_new(void)
{
	struct cls_names *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (grow(t) == -1)
		goto fail;
	for (size_t i = 0; i < NITEMS(dict); i++) {
		char buf[NAME_MAX_LEN];
		size_t n = cls_name_normalise(dict[i].name, strlen(dict[i].name),
		    buf, sizeof(buf));
		struct name_ent *e = put(t, buf, n, 1);

		if (e == NULL)
			goto fail;
		e->kinds |= dict[i].kinds;
	}
	for (size_t i = 0; i < NITEMS(negative); i++) {
		struct name_ent *e = put(t, negative[i], strlen(negative[i]), 0);

		if (e == NULL)
			goto fail;
		e->kinds |= NEG;
	}
	for (size_t i = 0; i < NITEMS(qualifier); i++) {
		struct name_ent *e = put(t, qualifier[i], strlen(qualifier[i]), 0);

		if (e == NULL)
			goto fail;
		e->kinds |= QUAL;
	}
	return t;
fail:
	cls_names_free(t);
	return NULL;
}

void
cls_names_free(struct cls_names *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->size; i++) {
		if (t->ents[i].owned)
			free((char *)(uintptr_t)t->ents[i].key);
		free(t->ents[i].classes);
	}
	free(t->ents);
	free(t->zh);
	free(t);
}

int
cls_names_add(struct cls_names *t, const char *name, size_t len,
    uint32_t class_id)
{
	char buf[NAME_MAX_LEN];
	size_t n = cls_name_normalise(name, len, buf, sizeof(buf));
	struct name_ent *e;
	uint32_t *c;

	if (n == 0)
		return 0;
	if ((e = put(t, buf, n, 1)) == NULL)
		return -1;
	for (size_t i = 0; i < e->nclasses; i++)
		if (e->classes[i] == class_id)
			return 0;
	if ((c = realloc(e->classes, (e->nclasses + 1) * sizeof(*c))) == NULL)
		return -1;
	c[e->nclasses++] = class_id;
	e->classes = c;
	return 0;
}

static int
zh_cmp(const void *a, const void *b)
{
	const struct zh_ent *x = a, *y = b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

int
cls_names_seal(struct cls_names *t)
{
	size_t n = 0;

	free(t->zh);
	t->zh = NULL;
	t->nzh = 0;
	for (size_t i = 0; i < t->size; i++) {
		const struct name_ent *e = &t->ents[i];

		if (e->key == NULL)
			continue;
		for (size_t j = 0; j < e->len; j++)
			if ((unsigned char)e->key[j] >= 0x80) {
				n++;
				break;
			}
	}
	if (n == 0)
		return 0;
	if ((t->zh = calloc(n, sizeof(*t->zh))) == NULL)
		return -1;
	for (size_t i = 0; i < t->size; i++) {
		struct name_ent *e = &t->ents[i];

		if (e->key == NULL)
			continue;
		for (size_t j = 0; j < e->len; j++)
			if ((unsigned char)e->key[j] >= 0x80) {
				t->zh[t->nzh].key = e->key;
				t->zh[t->nzh].len = e->len;
				t->zh[t->nzh++].ent = e;
				break;
			}
	}
	qsort(t->zh, t->nzh, sizeof(*t->zh), zh_cmp);
	return 0;
}

static uint32_t
ent_result(const struct name_ent *e, const uint32_t **classes,
    size_t *nclasses)
{
	*classes = e->classes;
	*nclasses = e->nclasses;
	return e->kinds & CLS_KSTOP ? 0 : e->kinds & ~(EXACT | NEG | QUAL);
}

uint32_t
cls_names_lookup(const struct cls_names *t, const char *name, size_t len,
    const uint32_t **classes, size_t *nclasses)
{
	char buf[NAME_MAX_LEN];
	size_t n, tok[NAME_MAX_LEN / 2], ntok = 0, end;
	const struct name_ent *e;
	int wide = 0;

	*classes = NULL;
	*nclasses = 0;
	if (name == NULL || len == 0)
		return 0;
	n = cls_name_normalise(name, len, buf, sizeof(buf));
	if (n == 0)
		return 0;
	/* the whole name, as written in a dictionary or a policy, wins over
	 * the negative words below */
	if ((e = get(t, buf, n)) != NULL)
		return ent_result(e, classes, nclasses);
	tok[ntok++] = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '_')
			tok[ntok++] = i + 1;
		else if ((unsigned char)buf[i] >= 0x80)
			wide = 1;
	}
	for (size_t i = 0; i < ntok; i++) {
		size_t te = i + 1 < ntok ? tok[i + 1] - 1 : n;

		if ((e = get(t, buf + tok[i], te - tok[i])) != NULL &&
		    (e->kinds & NEG))
			return 0;
	}
	if (wide) {
		for (size_t i = 0; i < NITEMS(negative_zh); i++)
			if (memmem(buf, n, negative_zh[i], strlen(negative_zh[i])))
				return 0;
		/* Chinese compounds are head-final like English ones: of the
		 * names found inside, the one ending last decides (联系人电话 is
		 * a phone), the longer one on a tie (zh is longest first). */
		const struct zh_ent *best = NULL;
		size_t best_end = 0;

		for (size_t i = 0; i < t->nzh; i++) {
			const char *at;
			size_t e_end;

			if (t->zh[i].ent->kinds & EXACT)
				continue;
			if ((at = memmem(buf, n, t->zh[i].key, t->zh[i].len)) == NULL)
				continue;
			e_end = (size_t)(at - buf) + t->zh[i].len;
			if (best == NULL || e_end > best_end) {
				best = &t->zh[i];
				best_end = e_end;
			}
		}
		if (best != NULL)
			return ent_result(best->ent, classes, nclasses);
	}
	/* drop qualifiers at the end, then try the suffixes, longest first */
	end = n;
	while (ntok > 1 && (e = get(t, buf + tok[ntok - 1],
	    end - tok[ntok - 1])) != NULL && (e->kinds & QUAL)) {
		end = tok[ntok - 1] - 1;
		ntok--;
	}
	for (size_t i = end == n ? 1 : 0; i < ntok; i++)
		if ((e = get(t, buf + tok[i], end - tok[i])) != NULL &&
		    (i == 0 || !(e->kinds & EXACT)))
			return ent_result(e, classes, nclasses);
	return 0;
}
