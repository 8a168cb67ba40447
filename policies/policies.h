/* policies/policies.h — the policy language (classes, rules, default) and the
 * decision engine every JSON body goes through: which rule decides a
 * classified field, the action applied to it, and the folded decisions the
 * audit log records. Never includes proxy headers. */
#ifndef CUSTOS_POLICIES_H
#define CUSTOS_POLICIES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "classifiers/classifiers.h"

struct pol_errs;
struct keys_ring;
struct keys_fpcache;
struct audit_decision;

/*
 * ROUTES. A rule's `routes` items are written like the config's routes:
 * "GET|POST /api/customers/" + "**", "* /files/" + "**", or a path pattern
 * alone (any method).
 * A rule route matches a request when its method set holds the request's
 * method and its path glob matches the request's path (query cut off):
 * "*" is one non-empty segment, "v*" a segment starting with "v", a final
 * "**" the rest (zero or more segments), anything else literal — the same
 * language as proxy/route.h, reimplemented here in a few lines so that
 * policies/ never includes a proxy header. `custos check` errors on a rule
 * route that can match no path of any configured route.
 */

/* What a policy is checked against. Every pointer is borrowed for the
 * duration of pol_policy_load(). A NULL list (with n = 0) is not checked:
 * any role, principal or route is accepted; an empty non-NULL list accepts
 * none. */
struct pol_env {
	const char *const	*roles;		/* known roles (of principals) */
	size_t			 nroles;
	const char *const	*principals;	/* known principal names */
	size_t			 nprincipals;
	const char *const	*routes;	/* config route "match" strings */
	size_t			 nroutes;
	const struct keys_ring	*ring;		/* NULL: key names not checked */
};

struct pol_policy;	/* opaque; immutable once loaded */

/*
 * Loads and checks the policy files in order (classes and rules of later
 * files follow those of earlier ones; `default` may be set once). Every
 * problem is appended to <errs> as "FILE:LINE:COL: error: MESSAGE", sorted by
 * file, line and column: unknown keys, classes, roles, principals, routes,
 * actions, options (with "did you mean" suggestions), bad levels, regexes
 * and detectors (via cls_set_new), missing keys or keys of the wrong
 * purpose (when env->ring is set), duplicate rule ids. Warnings (a rule an
 * earlier rule makes unreachable) are appended too but do not fail the load.
 * Returns NULL when there was any error (or on allocation failure). The
 * caller owns the policy (pol_policy_free, NULL-safe); once loaded it is
 * read-only and may be shared by any number of threads. Blocking file I/O:
 * not for event callbacks.
 */
struct pol_policy	*pol_policy_load(const char *const *files, size_t n,
			    const struct pol_env *env, struct pol_errs *errs);
/* The same from memory: one document <buf> (<len> bytes) named <name> in
 * messages. For tests, fuzzing and `custos check` of a pasted policy. */
struct pol_policy	*pol_policy_load_mem(const char *name, const char *buf,
			    size_t len, const struct pol_env *env,
			    struct pol_errs *errs);
void			 pol_policy_free(struct pol_policy *);

/* "sha256:" + hex SHA-256 of the files' bytes, concatenated in load order.
 * Owned by the policy. */
const char		*pol_policy_version(const struct pol_policy *);
/* The classes the policy defines (owned by the policy). */
const struct cls_set	*pol_policy_classes(const struct pol_policy *);
size_t			 pol_policy_nrules(const struct pol_policy *);
/* Rule id of rule i (file order), NULL when out of range. */
const char		*pol_policy_rule_id(const struct pol_policy *, size_t i);

enum pol_action {
	POL_A_ALLOW, POL_A_MASK, POL_A_REDACT, POL_A_DROP, POL_A_HASH,
	POL_A_TOKENIZE, POL_A_ENCRYPT, POL_A_REVEAL, POL_A_DENY,
};
#define POL_A_COUNT	(POL_A_DENY + 1)
/* "allow" ... "deny"; parse returns -1 when unknown. */
const char	*pol_action_name(enum pol_action);
int		 pol_action_parse(const char *);

enum pol_dir { POL_DIR_REQUEST = 1, POL_DIR_RESPONSE = 2 };

/* Break-glass state of a decision. */
enum pol_bg {
	POL_BG_NONE = 0,
	POL_BG_USED,		/* justified, allowed: the alternative action */
	POL_BG_REFUSED,		/* justified but not allowed: normal action */
};

/*
 * THE OVERRIDE HOOK (issue 7). Between "a rule (or the default) decided"
 * and "its action is applied" the engine calls ctx->override, when set, once
 * per classified field (or span) with what it decided. The hook returns 1
 * and sets *action and *override_id (a string that must outlive the
 * pol_eval) to replace the action, or 0 to leave the decision alone. A
 * replaced action runs with the rule's options (or default options for an
 * action the rule did not name: mask everything, default redact text, the
 * conventional key names). Only called for classified fields, so unclassified
 * fields cost nothing; the folded path is formatted only when a hook is set
 * or a decision is recorded. Called on the thread of pol_eval_field.
 */
struct pol_override_q {
	const char		*rule;		/* NULL: the policy default */
	const char		*class_;
	enum cls_level		 level;
	const char		*path;		/* folded: "$.items[*].email" */
	const char		*fingerprint;	/* NULL without a ring */
	enum pol_action		 action;	/* what the rule decided */
};
typedef int	(*pol_override_fn)(void *arg, const struct pol_override_q *,
		    enum pol_action *action, const char **override_id);

/* One body's context. Every pointer is borrowed for the pol_eval's life. */
struct pol_ctx {
	const char		*method;	/* "GET" ... */
	const char		*path;		/* request path, no query */
	size_t			 path_len;
	const char		*route;		/* matched config pattern (audit) */
	const char		*principal;
	const char *const	*roles;
	size_t			 nroles;
	enum pol_dir		 dir;
	int			 justified;	/* X-Custos-Justification present */
	const char		*request_id;	/* decision ids "<request_id>.N" */
	pol_override_fn		 override;	/* NULL: no overrides */
	void			*override_arg;
	int			 no_fps;	/* 1: decisions carry no
						 * fingerprints (nothing will
						 * read them: no audit log) */
	struct keys_fpcache	*fpcache;	/* NULL: none; this thread's
						 * memo of fingerprints (the
						 * same ones, fewer hashes) */
};

#define POL_MAX_FPS		8	/* distinct fingerprints per decision */
#define POL_MAX_DECISIONS	1024	/* folded decisions per body; more
					 * distinct paths fold into "$.**" */

/* A folded decision: every field (or span) of one body with the same
 * (folded path, class, rule, action, override, break glass). Strings are
 * owned by the pol_eval (or its policy / class set) and never hold values. */
struct pol_decision {
	const char		*id;		/* "<request_id>.N", N from 1 */
	const char		*path;		/* "$.items[*].email" */
	const char		*class_;
	const char		*level;
	const char		*confidence;	/* highest seen */
	const char		*evidence[CLS_MAX_EVIDENCE];	/* of that match */
	size_t			 nevidence;
	const char		*rule;		/* NULL: the policy default */
	enum pol_action		 action;	/* as applied */
	uint64_t		 count;
	const char		*override;	/* override id, NULL: none */
	enum pol_bg		 break_glass;
	const char		*error;		/* why an action fell back to
						 * redact (reveal failed, key
						 * missing), NULL: none */
	const char		*fingerprints[POL_MAX_FPS];
	size_t			 nfingerprints;
};

struct pol_eval;	/* opaque: the engine's state for one body */

/*
 * A decision engine for one body (one request or response direction) under
 * <policy> and <ctx>. <ring> (may be NULL: then hash/tokenize/encrypt/reveal
 * fall back to redact, recorded in the decision, and no fingerprints are
 * taken, as with ctx->no_fps) and <scratch> (may be NULL, slower) are borrowed; so is everything
 * <ctx> points to. Rule conditions on route, role, principal, direction and
 * break glass are resolved here once, not per field. One thread at a time.
 * NULL on allocation failure. Caller owns it; pol_eval_free(NULL) is a no-op.
 */
struct pol_eval	*pol_eval_new(const struct pol_policy *policy,
		    const struct pol_ctx *ctx, const struct keys_ring *ring,
		    struct cls_scratch *scratch);
void		 pol_eval_free(struct pol_eval *);

enum pol_verdict {
	POL_KEEP,		/* leave the value as it is */
	POL_REPLACE,		/* write *out (a string, or raw JSON if *out_raw) */
	POL_REMOVE,		/* drop the member or element */
	POL_DENY,		/* refuse the whole body: pol_eval_denied_rule() */
};

/*
 * Classifies <field> and decides it. A field no class claims is kept at the
 * cost of the classifier alone (no allocation, no path formatting).
 * A field several classes claim as a whole is decided by the highest-level
 * class (ties: the class written first); if that decision is allow, the
 * free-text spans inside it are still decided. Free-text spans (in_text) get
 * their class's action applied to the span only, the rest of the string
 * kept ("call 13800138000" -> "call [REDACTED:phone]"); drop removes the
 * span's text; a deny anywhere denies the body. When the classifier finds
 * more matches than the engine has room for, the field is decided whole
 * (fail closed). On POL_REPLACE, *out / *outlen hold the replacement, owned
 * by the eval and valid until the next call; *out_raw is 1 when it is raw
 * JSON (never at present: every replacement is a JSON string), else 0.
 * Decisions are folded as it goes. Safe in event callbacks (keys operations
 * do no I/O); allocates only when a decision is recorded.
 */
enum pol_verdict pol_eval_field(struct pol_eval *, const struct cls_field *,
		    const char **out, size_t *outlen, int *out_raw);

/* After POL_DENY: the id of the denying rule (or "default"); else NULL. */
const char	*pol_eval_denied_rule(const struct pol_eval *);

/* The folded decisions so far, in order of first occurrence; owned by the
 * eval, valid until its next pol_eval_field or free. */
const struct pol_decision *pol_eval_decisions(const struct pol_eval *,
		    size_t *n);
/* Fills <out> from <d> for audit_rec_request() and audit_rec_decision()
 * (break_glass and error included); <fps> (POL_MAX_FPS entries)
 * and <evidence> (CLS_MAX_EVIDENCE) are the caller's arrays the result
 * points into; <d> must outlive <out>. */
void		 pol_decision_to_audit(const struct pol_decision *d,
		    struct audit_decision *out, const char **fps,
		    const char **evidence);

/*
 * OUTREACH (issue 9). A policy may hold one top-level `outreach` section (in
 * at most one of its files) that lets custos refuse automated sales
 * messages: too many to one recipient in sliding windows, during quiet
 * hours, or to someone who opted out.
 *
 *   outreach:
 *     routes:                  # which requests send messages, first match
 *       - {match: "POST /api/messages", recipient: "$.to", channel: "$.channel"}
 *       - {match: "POST /api/campaigns/send",
 *          recipient: "$.recipients[*].email", channel: email}
 *     automated: {roles: [ai_assistant, marketing], principals: [campaign-bot]}
 *     limits:
 *       - {id: one-a-day, max: 1, window: 24h}
 *       - {id: sms-weekly, max: 1, window: 7d, channel: sms}
 *     quiet_hours: {from: "21:00", to: "08:00", timezone: Europe/Berlin}
 *     default_country: "+49"
 *     unsubscribe: {key: hash, ttl: 30d, url: "https://crm.example.com/unsubscribe"}
 *
 * routes (required, non-empty): `match` as a rule route ("METHODS /glob");
 *   `recipient` a JSON path in the form json_path_format(fold = 1) writes
 *   (segments .ident, ['key'] with \' and \\ escaped, [*]; stored in that
 *   canonical form, so the proxy strcmp()s it against the folded path of a
 *   value); `channel` (optional) a JSON path (starts with "$") read from the
 *   body, or a fixed channel name.
 * automated (required): `roles` and/or `principals`; a key left out
 *   matches no one, both left out is an error. Names are checked against
 *   pol_env as rules' are (a near miss is an error, an unknown name a
 *   warning).
 * limits (optional, non-empty): `id` (required, unique), `max` 1..64,
 *   `window` 1s..366d ("90s", "30m", "24h", "7d", or whole seconds as an
 *   integer of milliseconds), `channel` (optional): count only messages on
 *   that channel. Channel names compare ASCII case-insensitively.
 * quiet_hours (optional): `from` and `to` "HH:MM" (different; across
 *   midnight when from > to), `timezone` a zone name read from
 *   $TZDIR (default /usr/share/zoneinfo) at load, "UTC", or a fixed offset
 *   "+05:30"; `id` (default "quiet-hours", not a limit id).
 * default_country (optional): "+49"; national phone numbers get it.
 * unsubscribe (optional): `key` (purpose hash, default "hash"; checked
 *   against env->ring when set), `ttl` of the links (1s..3660d, default
 *   30d), `url` (http:// or https://, optional).
 *
 * Every function below accepts a NULL outreach (no section: nothing
 * matches, no scopes, no limits, never quiet) and is read-only on an
 * immutable policy: any thread, event callbacks included (no I/O, no
 * locks, no allocation).
 */
struct pol_outreach;	/* part of a policy; NULL when it has no outreach */

#define POL_OR_MAX_MAX		64	/* largest `max` of a limit */
#define POL_OR_MAX_LIMITS	32	/* limits in one outreach section */
#define POL_OR_MAX_SCOPES	8	/* counting scopes ("*" and channels;
					 * AUDIT_OR_MAX_SCOPES) */
#define POL_OR_TOKEN_MAX	168	/* longest unsubscribe token, NUL incl. */

/* The policy's outreach section (owned by the policy), or NULL. */
const struct pol_outreach *pol_policy_outreach(const struct pol_policy *);

/* Index of the outreach route matching the request (first in file order),
 * or -1. <path> (path_len bytes) without the query; an unknown method
 * matches nothing. */
int	pol_or_route(const struct pol_outreach *, const char *method,
	    const char *path, size_t path_len);
/* The route's recipient path, canonical folded form ("$.recipients[*].email");
 * NULL for a bad index. Owned by the policy. */
const char *pol_or_recipient(const struct pol_outreach *, int route);
/* The route's channel: *is_path = 1 and a canonical path, or 0 and a fixed
 * name; NULL = none (then *is_path = 0). Owned by the policy. */
const char *pol_or_channel(const struct pol_outreach *, int route,
	    int *is_path);
/* The recipient path, and the channel path (NULL when the channel is a
 * name or none), compiled for cls_glob_match(). Owned by the policy. */
const struct cls_glob *pol_or_recipient_glob(const struct pol_outreach *,
	    int route);
const struct cls_glob *pol_or_channel_glob(const struct pol_outreach *,
	    int route);
/* 1 when the limits, quiet hours and opt-outs apply to this caller: its
 * principal is in `automated.principals` or one of its roles in
 * `automated.roles`; else 0. */
int	pol_or_automated(const struct pol_outreach *, const char *principal,
	    const char *const *roles, size_t nroles);

/* Counting scopes: "*" first (when some limit has no channel), then one per
 * channel in order of first appearance. A scope's ring (how many send
 * times the store keeps per recipient) is the largest max of its limits. */
size_t	pol_or_nscopes(const struct pol_outreach *);
/* "*" or the channel as first written; NULL past the end. */
const char *pol_or_scope_name(const struct pol_outreach *, size_t i);
unsigned pol_or_scope_ring(const struct pol_outreach *, size_t i);

struct pol_or_limit {
	const char	*id;
	const char	*channel;	/* NULL: every channel */
	unsigned	 scope;		/* index of its scope */
	unsigned	 max;		/* 1..POL_OR_MAX_MAX */
	uint32_t	 window_s;
};
size_t	pol_or_nlimits(const struct pol_outreach *);
/* Limit i (file order), owned by the policy; NULL past the end. */
const struct pol_or_limit *pol_or_limit_at(const struct pol_outreach *,
	    size_t i);
/* The limits that count a message on <channel> (chlen bytes; NULL or "" =
 * no channel: only the all-channel limits): fills out[] with limit indexes
 * in file order, at most cap of them (cap >= pol_or_nlimits() is always
 * enough), and returns how many it wrote. */
size_t	pol_or_limits_for(const struct pol_outreach *, const char *channel,
	    size_t chlen, size_t *out, size_t cap);

/* 1 when now_s (Unix seconds) falls in the quiet hours, with *until_s = the
 * instant they end (the first at which the zone's wall clock reads `to` or
 * later: on a spring-forward day that skips `to`, the transition) and *id
 * the quiet hours id; either pointer may be NULL. 0 otherwise or when there
 * are none. Any thread: zones are parsed at load, never through tzset. */
int	pol_or_quiet(const struct pol_outreach *, int64_t now_s,
	    int64_t *until_s, const char **id);

/* Normalises a recipient value (len bytes) into buf (NUL-terminated) before
 * it is fingerprinted, so that one person is one counter:
 *   - ASCII white space trimmed at both ends; empty after that: -1;
 *   - with an '@': an email, lower-cased (ASCII only; UTF-8 bytes kept);
 *   - only digits, spaces, - . ( ) with an optional leading + or 00, and at
 *     most 15 digits: a phone number in E.164, "+<digits>" ("+49 (0)30 ..."
 *     drops the parenthesised trunk 0); a national number (no + or 00) gets
 *     default_country, its single leading 0 removed ("030 1234-567" ->
 *     "+49301234567"), or without default_country stays digits only;
 *   - anything else (an id) as trimmed.
 * Returns the length, or -1 when empty or it does not fit in cap. */
long	pol_or_normalise(const struct pol_outreach *, const char *v,
	    size_t len, char *buf, size_t cap);

/*
 * Unsubscribe tokens: "<fp>.<expiry>.<mac>" with fp the recipient's
 * fingerprint (KEYS_FP_LEN base64url characters), expiry Unix seconds in
 * decimal, and mac what keys_hash() writes ("KEYID:BASE64URL") under the
 * `unsubscribe.key` over "custos-unsubscribe-v1\n<fp>\n<expiry>\n".
 * Every character is unreserved in a URL or a ':' (allowed in a query by
 * RFC 3986), so the token goes in "?token=..." without escaping.
 * keys_hash() writes under the key's newest active version only, so a
 * token is checked under that version: rotating the key invalidates the
 * links sent before (they fail with "no key"; opt-outs already recorded
 * stay).
 */
int	pol_or_has_unsubscribe(const struct pol_outreach *);
/* The `unsubscribe.url`, owned by the policy; NULL when not set. */
const char *pol_or_unsubscribe_url(const struct pol_outreach *);
/* Makes a token for fingerprint <fp> (KEYS_FP_LEN characters, NUL-
 * terminated) expiring at now_s + ttl into out (POL_OR_TOKEN_MAX is always
 * enough): its length (NUL-terminated), or -1 (no unsubscribe section, no
 * usable key in <ring>, a bad fp or now_s, out too small; out is then ""). */
long	pol_or_token_make(const struct pol_outreach *, const struct keys_ring *,
	    const char *fp, int64_t now_s, char *out, size_t cap);
/* Checks token <tok> (len bytes, no NUL needed, as taken from the query
 * and percent-decoded): 0, fp_out (KEYS_FP_LEN + 1 bytes) = its fingerprint
 * and *why = NULL when valid; else -1, fp_out = "" and *why (static) =
 * "malformed", "no key" (no unsubscribe section, the key is missing or has
 * no active version, or the token was made under an older version),
 * "bad signature" or "expired" (now_s >= expiry), checked in that order. The
 * MAC is compared in constant time. why may be NULL. */
int	pol_or_token_check(const struct pol_outreach *,
	    const struct keys_ring *, const char *tok, size_t len,
	    int64_t now_s, char *fp_out, const char **why);

#endif
