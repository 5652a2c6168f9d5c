/* test_controller_flags.c - the command line: every flag of spec/api.md §3.1
 * with its upstream default, every syntax, bad values, Go durations, the
 * start-up notes and the usage text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/flags.h"
#include "core/err.h"
#include "core/log.h"

/* ---- defaults: one row per upstream flag (spec/api.md §3.1) -------------- */

typedef struct {
    const char *name; /* flag */
    const char *want;
} def_row;

static const def_row def_rows[] = {
    {"version", "false"},
    {"metrics-bind-address", ":8080"},
    {"health-probe-bind-address", ":8081"},
    {"leader-elect", "true"},
    {"leader-election-namespace", ""},
    {"extensions", "false"},
    {"cluster-domain", "cluster.local"},
    {"enable-tracing", "false"},
    {"enable-pprof", "false"},
    {"enable-pprof-debug", "false"},
    {"pprof-block-profile-rate", "1000000"},
    {"pprof-mutex-profile-fraction", "10"},
    {"kube-api-qps", "-1"},
    {"kube-api-burst", "10"},
    {"api-connections", "1"},
    {"separate-watch-connection", "false"},
    {"sandbox-concurrent-workers", "100"},
    {"sandbox-claim-concurrent-workers", "50"},
    {"sandbox-warm-pool-concurrent-workers", "1"},
    {"sandbox-template-concurrent-workers", "1"},
    {"sandbox-warm-pool-max-batch-size", "300"},
    {"sandbox-warm-pool-replenish-delay", "0"},
    {"sandbox-warm-pool-max-refill-rate", "0"},
    {"sandbox-warm-pool-readiness-grace-period", "300000000000"},
    {"sandbox-warm-pool-unschedulable-recheck-interval", "60000000000"},
    {"enable-warm-pool-eviction", "true"},
    {"cache-label-selectors", "false"},
    {"disable-claim-events", "false"},
    {"disable-claim-observability-annotations", "false"},
    {"sandbox-write-behind-window", "0"},
    {"webhook-port", "9443"},
    {"webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs"},
    {"webhook-cert-name", "tls.crt"},
    {"webhook-key-name", "tls.key"},
    {"webhook-service-name", "agent-sandbox-webhook-service"},
    {"webhook-namespace", "agent-sandbox-system"},
    {"manage-webhook-certs", "true"},
    {"enable-webhook", "true"},
    {"zap-encoder", "json"},
    {"zap-devel", "false"},
    {"kubeconfig", ""},
    {"cache-dir", "/var/cache/agent-sandbox-controller"},
    {"log-level", "2"}, /* LOG_INFO */
};

static void
test_default(void **state)
{
    const def_row *r = *state;
    ctl_flags f;
    char buf[256], err[256] = "";
    char *argv[] = {"prog", NULL};
    assert_int_equal(ctl_flags_init(&f), 0);
    assert_int_equal(ctl_flags_parse(&f, 1, argv, err, sizeof err), 0);
    assert_int_equal(ctl_flags_get(&f, r->name, buf, sizeof buf), 0);
    assert_string_equal(buf, r->want);
    assert_false(ctl_flags_was_set(&f, r->name));
    ctl_flags_fini(&f);
}

static void
test_default_shards(void **state)
{
    (void)state;
    ctl_flags f;
    assert_int_equal(ctl_flags_init(&f), 0);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(f.shards, n > 0 ? n : 1);
    ctl_flags_fini(&f);
}

/* ---- parse rows: args, then either the value read back or the error ------ */

typedef struct {
    const char *name;
    const char *args[6]; /* NULL-terminated */
    int ok;
    const char *flag; /* ok: the flag to read back */
    const char *want; /* ok: its value; !ok: a substring of the error */
} parse_row;

static const parse_row parse_rows[] = {
    /* every syntax */
    {"eq form", {"--kube-api-burst=20"}, 1, "kube-api-burst", "20"},
    {"space form", {"--kube-api-burst", "20"}, 1, "kube-api-burst", "20"},
    {"single dash", {"-kube-api-burst=20"}, 1, "kube-api-burst", "20"},
    {"single dash space", {"-kube-api-burst", "21"}, 1, "kube-api-burst", "21"},
    {"last wins", {"--kube-api-burst=0", "--kube-api-burst=5"}, 1, "kube-api-burst", "5"},
    {"bool bare", {"--extensions"}, 1, "extensions", "true"},
    {"bool =true", {"--extensions=true"}, 1, "extensions", "true"},
    {"bool =false", {"--leader-elect=false"}, 1, "leader-elect", "false"},
    {"bool =0", {"--leader-elect=0"}, 1, "leader-elect", "false"},
    {"bool =T", {"--enable-tracing=T"}, 1, "enable-tracing", "true"},
    {"bool =FALSE", {"--enable-webhook=FALSE"}, 1, "enable-webhook", "false"},
    {"bool =True", {"--cache-label-selectors=True"}, 1, "cache-label-selectors", "true"},
    {"double dash ends", {"--extensions", "--"}, 1, "extensions", "true"},
    {"empty string value", {"--leader-election-namespace="}, 1, "leader-election-namespace", ""},
    {"hex int", {"--webhook-port=0x24b3"}, 1, "webhook-port", "9395"},
    /* every upstream flag, set away from its default */
    {"metrics addr",
     {"--metrics-bind-address=127.0.0.1:9090"},
     1,
     "metrics-bind-address",
     "127.0.0.1:9090"},
    {"metrics off", {"--metrics-bind-address=0"}, 1, "metrics-bind-address", "0"},
    {"health addr", {"--health-probe-bind-address", ":0"}, 1, "health-probe-bind-address", ":0"},
    {"le namespace", {"--leader-election-namespace=ns1"}, 1, "leader-election-namespace", "ns1"},
    {"cluster domain", {"--cluster-domain=example.org"}, 1, "cluster-domain", "example.org"},
    {"pprof", {"--enable-pprof"}, 1, "enable-pprof", "true"},
    {"pprof debug", {"--enable-pprof-debug=true"}, 1, "enable-pprof-debug", "true"},
    {"block rate", {"--pprof-block-profile-rate=5"}, 1, "pprof-block-profile-rate", "5"},
    {"mutex frac", {"--pprof-mutex-profile-fraction=-1"}, 1, "pprof-mutex-profile-fraction", "-1"},
    {"qps float", {"--kube-api-qps=2.5"}, 1, "kube-api-qps", "2.5"},
    {"qps zero", {"--kube-api-qps=0"}, 1, "kube-api-qps", "0"},
    {"api connections", {"--api-connections=4"}, 1, "api-connections", "4"},
    {"separate watch", {"--separate-watch-connection"}, 1, "separate-watch-connection", "true"},
    {"sandbox workers", {"--sandbox-concurrent-workers=7"}, 1, "sandbox-concurrent-workers", "7"},
    {"claim workers",
     {"--sandbox-claim-concurrent-workers=8"},
     1,
     "sandbox-claim-concurrent-workers",
     "8"},
    {"pool workers",
     {"--sandbox-warm-pool-concurrent-workers=9"},
     1,
     "sandbox-warm-pool-concurrent-workers",
     "9"},
    {"template workers",
     {"--sandbox-template-concurrent-workers=3"},
     1,
     "sandbox-template-concurrent-workers",
     "3"},
    {"batch", {"--sandbox-warm-pool-max-batch-size=1"}, 1, "sandbox-warm-pool-max-batch-size", "1"},
    {"replenish delay",
     {"--sandbox-warm-pool-replenish-delay=250ms"},
     1,
     "sandbox-warm-pool-replenish-delay",
     "250000000"},
    {"refill rate",
     {"--sandbox-warm-pool-max-refill-rate=12.5"},
     1,
     "sandbox-warm-pool-max-refill-rate",
     "12.5"},
    {"grace",
     {"--sandbox-warm-pool-readiness-grace-period=1m30s"},
     1,
     "sandbox-warm-pool-readiness-grace-period",
     "90000000000"},
    {"recheck",
     {"--sandbox-warm-pool-unschedulable-recheck-interval", "10s"},
     1,
     "sandbox-warm-pool-unschedulable-recheck-interval",
     "10000000000"},
    {"eviction off",
     {"--enable-warm-pool-eviction=false"},
     1,
     "enable-warm-pool-eviction",
     "false"},
    {"claim events", {"--disable-claim-events"}, 1, "disable-claim-events", "true"},
    {"claim annotations",
     {"--disable-claim-observability-annotations"},
     1,
     "disable-claim-observability-annotations",
     "true"},
    {"write behind",
     {"--sandbox-write-behind-window=5ms"},
     1,
     "sandbox-write-behind-window",
     "5000000"},
    {"webhook port", {"--webhook-port=8443"}, 1, "webhook-port", "8443"},
    {"cert dir", {"--webhook-cert-dir=/certs"}, 1, "webhook-cert-dir", "/certs"},
    {"cert name", {"--webhook-cert-name=cert.pem"}, 1, "webhook-cert-name", "cert.pem"},
    {"key name", {"--webhook-key-name=key.pem"}, 1, "webhook-key-name", "key.pem"},
    {"svc name", {"--webhook-service-name=svc"}, 1, "webhook-service-name", "svc"},
    {"webhook ns", {"--webhook-namespace=other"}, 1, "webhook-namespace", "other"},
    {"manage certs", {"--manage-webhook-certs=false"}, 1, "manage-webhook-certs", "false"},
    {"version", {"--version"}, 1, "version", "true"},
    /* ours */
    {"kubeconfig", {"--kubeconfig", "/tmp/kc"}, 1, "kubeconfig", "/tmp/kc"},
    {"cache dir", {"--cache-dir=/tmp/x"}, 1, "cache-dir", "/tmp/x"},
    {"shards", {"--shards=3"}, 1, "shards", "3"},
    {"log level debug", {"--log-level=debug"}, 1, "log-level", "3"},
    {"log level warn", {"--log-level=warn"}, 1, "log-level", "1"},
    {"klog -v=0", {"-v=0"}, 1, "log-level", "2"},
    {"klog -v 4", {"-v", "4"}, 1, "log-level", "4"},
    {"zap level error", {"--zap-log-level=error"}, 1, "log-level", "0"},
    {"zap level panic", {"--zap-log-level=panic"}, 1, "log-level", "0"},
    {"zap level 2", {"--zap-log-level=2"}, 1, "log-level", "3"},
    {"zap encoder", {"--zap-encoder=console"}, 1, "zap-encoder", "console"},
    {"zap stacktrace", {"--zap-stacktrace-level=panic"}, 1, "zap-stacktrace-level", "panic"},
    {"zap time", {"--zap-time-encoding=iso8601"}, 1, "zap-time-encoding", "iso8601"},
    {"zap devel", {"--zap-devel"}, 1, "zap-devel", "true"},
    {"help stops", {"--help", "--nonsense"}, 1, "help", "true"},
    {"-h", {"-h"}, 1, "help", "true"},
    {"version stops", {"--version", "--kube-api-burst=0"}, 1, "version", "true"},
    /* syntax errors */
    {"unknown flag", {"--bogus"}, 0, NULL, "unknown flag: --bogus"},
    {"unknown flag with value", {"--bogus=1"}, 0, NULL, "unknown flag: --bogus"},
    {"unknown single dash", {"-x"}, 0, NULL, "unknown flag: -x"},
    {"missing argument", {"--kubeconfig"}, 0, NULL, "flag needs an argument: --kubeconfig"},
    {"positional", {"extra"}, 0, NULL, "unexpected argument: extra"},
    {"after --", {"--", "x"}, 0, NULL, "unexpected argument: x"},
    {"bool with space value", {"--leader-elect", "false"}, 0, NULL, "unexpected argument: false"},
    {"triple dash", {"---leader-elect"}, 0, NULL, "bad flag syntax"},
    {"empty name", {"--=x"}, 0, NULL, "bad flag syntax"},
    {"lone dash", {"-"}, 0, NULL, "unexpected argument: -"},
    /* bad values */
    {"bool maybe", {"--leader-elect=maybe"}, 0, NULL, "invalid value \"maybe\" for --leader-elect"},
    {"int text", {"--kube-api-burst=ten"}, 0, NULL, "for --kube-api-burst"},
    {"int float", {"--sandbox-concurrent-workers=1.5"}, 0, NULL, "want an integer"},
    {"int overflow", {"--kube-api-burst=99999999999"}, 0, NULL, "for --kube-api-burst"},
    {"int empty", {"--kube-api-burst="}, 0, NULL, "for --kube-api-burst"},
    {"float text", {"--kube-api-qps=fast"}, 0, NULL, "for --kube-api-qps"},
    {"qps inf", {"--kube-api-qps=inf"}, 0, NULL, "--kube-api-qps must be a finite number"},
    {"duration no unit",
     {"--sandbox-warm-pool-readiness-grace-period=5"},
     0,
     NULL,
     "want a duration"},
    {"bad level", {"--log-level=loud"}, 0, NULL, "for --log-level"},
    {"bad -v", {"-v=12"}, 0, NULL, "for --v"},
    /* upstream's validation */
    {"burst 0", {"--kube-api-burst=0"}, 0, NULL, "--kube-api-burst must be > 0, got 0"},
    {"burst -1", {"--kube-api-burst=-1"}, 0, NULL, "--kube-api-burst must be > 0"},
    {"connections 0", {"--api-connections=0"}, 0, NULL, "--api-connections must be > 0"},
    {"sandbox workers 0",
     {"--sandbox-concurrent-workers=0"},
     0,
     NULL,
     "--sandbox-concurrent-workers must be > 0"},
    {"claim workers 0",
     {"--sandbox-claim-concurrent-workers=0"},
     0,
     NULL,
     "--sandbox-claim-concurrent-workers must be > 0"},
    {"pool workers 0",
     {"--sandbox-warm-pool-concurrent-workers=-3"},
     0,
     NULL,
     "--sandbox-warm-pool-concurrent-workers must be > 0"},
    {"batch 0",
     {"--sandbox-warm-pool-max-batch-size=0"},
     0,
     NULL,
     "--sandbox-warm-pool-max-batch-size must be > 0"},
    {"refill negative",
     {"--sandbox-warm-pool-max-refill-rate=-1"},
     0,
     NULL,
     "--sandbox-warm-pool-max-refill-rate must be a finite number >= 0"},
    {"refill nan",
     {"--sandbox-warm-pool-max-refill-rate=nan"},
     0,
     NULL,
     "--sandbox-warm-pool-max-refill-rate must be a finite number"},
    {"grace 0",
     {"--sandbox-warm-pool-readiness-grace-period=0s"},
     0,
     NULL,
     "--sandbox-warm-pool-readiness-grace-period must be > 0"},
    {"grace negative",
     {"--sandbox-warm-pool-readiness-grace-period=-1m"},
     0,
     NULL,
     "--sandbox-warm-pool-readiness-grace-period must be > 0"},
    {"recheck 0",
     {"--sandbox-warm-pool-unschedulable-recheck-interval=0"},
     0,
     NULL,
     "--sandbox-warm-pool-unschedulable-recheck-interval must be > 0"},
    {"write behind negative",
     {"--sandbox-write-behind-window=-1s"},
     0,
     NULL,
     "--sandbox-write-behind-window must be >= 0"},
    {"replenish negative",
     {"--sandbox-warm-pool-replenish-delay=-5s"},
     0,
     NULL,
     "--sandbox-warm-pool-replenish-delay must be >= 0"},
    {"cert name empty", {"--webhook-cert-name="}, 0, NULL, "--webhook-cert-name must not be empty"},
    {"key name empty", {"--webhook-key-name", ""}, 0, NULL, "--webhook-key-name must not be empty"},
    {"webhook port range", {"--webhook-port=70000"}, 0, NULL, "--webhook-port must be a port"},
    {"shards 0", {"--shards=0"}, 0, NULL, "--shards must be > 0"},
    {"shards huge", {"--shards=5000"}, 0, NULL, "--shards must be <= 1024"},
    {"cache dir empty", {"--cache-dir="}, 0, NULL, "--cache-dir must not be empty"},
    {"metrics addr empty",
     {"--metrics-bind-address="},
     0,
     NULL,
     "--metrics-bind-address must be host:port, :port or 0, got \"\""},
    {"metrics addr no port",
     {"--metrics-bind-address=8080"},
     0,
     NULL,
     "--metrics-bind-address must be host:port, :port or 0, got \"8080\""},
    {"health addr bad",
     {"--health-probe-bind-address", "[::1"},
     0,
     NULL,
     "--health-probe-bind-address must be host:port"},
    {"health addr v6",
     {"--health-probe-bind-address=[::1]:8081"},
     1,
     "health-probe-bind-address",
     "[::1]:8081"},
};

static void
test_parse(void **state)
{
    const parse_row *r = *state;
    ctl_flags f;
    char *argv[8] = {"prog"};
    int argc = 1;
    char err[256] = "", buf[256];
    for (int i = 0; r->args[i]; i++)
        argv[argc++] = (char *)r->args[i];
    assert_int_equal(ctl_flags_init(&f), 0);
    int rc = ctl_flags_parse(&f, argc, argv, err, sizeof err);
    if (r->ok) {
        if (rc != 0) fail_msg("unexpected error: %s", err);
        assert_int_equal(ctl_flags_get(&f, r->flag, buf, sizeof buf), 0);
        assert_string_equal(buf, r->want);
        assert_true(ctl_flags_was_set(&f, r->flag));
    } else {
        assert_int_equal(rc, ERR_INVALID);
        if (strstr(err, r->want) == NULL) fail_msg("error \"%s\" lacks \"%s\"", err, r->want);
    }
    ctl_flags_fini(&f);
}

/* ---- Go durations -------------------------------------------------------- */

typedef struct {
    const char *in;
    int ok;
    int64_t want;
} dur_row;

#define S  1000000000LL
#define MS 1000000LL
static const dur_row dur_rows[] = {
    {"0", 1, 0},
    {"-0", 1, 0},
    {"5m", 1, 300 * S},
    {"1s", 1, S},
    {"500ms", 1, 500 * MS},
    {"1m30s", 1, 90 * S},
    {"1.5h", 1, 5400 * S},
    {"-1.5h", 1, -5400 * S},
    {"+5s", 1, 5 * S},
    {"1h2m3s4ms5us6ns", 1, 3723 * S + 4 * MS + 5000 + 6},
    {".5s", 1, 500 * MS},
    {"1.s", 1, S},
    {"0.001s", 1, MS},
    {"300\xc2\xb5s", 1, 300000},
    {"300\xce\xbcs", 1, 300000},
    {"10us", 1, 10000},
    {"1.0000000001s", 1, S}, /* sub-ns digits dropped */
    {"2562047h47m16.854775807s", 1, INT64_MAX},
    {"9223372036854775807ns", 1, INT64_MAX},
    {"9223372036854775808ns", 0, 0},
    {"2562048h", 0, 0},
    {"", 0, 0},
    {"5", 0, 0},
    {"s", 0, 0},
    {".", 0, 0},
    {".s", 0, 0},
    {"-", 0, 0},
    {"1x", 0, 0},
    {"1e3s", 0, 0},
    {"1.2.3s", 0, 0},
    {"1s-1s", 0, 0},
    {" 1s", 0, 0},
    {"1 s", 0, 0},
    {"1S", 0, 0},
};

static void
test_duration(void **state)
{
    const dur_row *r = *state;
    int64_t v = 12345;
    int rc = ctl_parse_duration(r->in, &v);
    if (r->ok) {
        assert_int_equal(rc, 0);
        assert_int_equal(v, r->want);
    } else {
        assert_int_equal(rc, ERR_INVALID);
        assert_int_equal(v, 12345); /* untouched on error */
    }
}

/* ---- notes --------------------------------------------------------------- */

typedef struct {
    int n[4];
    char flags[1024];
    char msgs[4096];
} note_acc;

static void
acc_note(int kind, const char *flag, const char *msg, void *udata)
{
    note_acc *a = udata;
    a->n[kind]++;
    strncat(a->flags, flag, sizeof a->flags - strlen(a->flags) - 2);
    strcat(a->flags, ",");
    strncat(a->msgs, msg, sizeof a->msgs - strlen(a->msgs) - 2);
    strcat(a->msgs, "\n");
}

typedef struct {
    const char *name;
    const char *args[4];
    int warn, pending, superseded;
    const char *flag_sub; /* a flag named among the notes */
    const char *msg_sub;  /* a message substring */
} note_row;

static const note_row note_rows[] = {
    /* default-on features that do not exist yet: webhook certs, webhook */
    {"defaults", {NULL}, 0, 2, 0, "enable-webhook,", "conversion strategy None"},
    {"webhook off",
     {"--enable-webhook=false", "--manage-webhook-certs=false"},
     0,
     2,
     0,
     "enable-webhook,",
     "--enable-webhook=false is accepted"},
    {"tracing", {"--enable-tracing"}, 0, 3, 0, "enable-tracing,", "not yet in effect: tracing"},
    {"pprof",
     {"--enable-pprof", "--pprof-block-profile-rate=1"},
     0,
     4,
     0,
     "pprof-block-profile-rate,",
     "profiling"},
    /* in effect now: no "not yet in effect" note, only the defaults' two */
    {"in effect: write-behind, cluster domain, label selectors",
     {"--sandbox-write-behind-window=1s", "--cluster-domain=example.org",
      "--cache-label-selectors"},
     0,
     2,
     0,
     NULL,
     NULL},
    {"workers superseded",
     {"--sandbox-concurrent-workers=10", "--shards=2"},
     0,
     2,
     1,
     "sandbox-concurrent-workers,",
     "superseded by --shards=2"},
    {"over 1000 workers",
     {"--sandbox-concurrent-workers=960"},
     1,
     2,
     1,
     NULL,
     "total concurrent workers 1012 exceed 1000"},
    {"workers over burst",
     {"--kube-api-qps=5"},
     1,
     2,
     0,
     "kube-api-burst,",
     "exceed --kube-api-burst=10"},
    {"no burst warning without qps", {"--kube-api-burst=1"}, 0, 2, 0, NULL, NULL},
    {"workers within burst", {"--kube-api-qps=5", "--kube-api-burst=200"}, 0, 2, 0, NULL, NULL},
};

static void
test_notes(void **state)
{
    const note_row *r = *state;
    ctl_flags f;
    char *argv[6] = {"prog"};
    int argc = 1;
    char err[256] = "";
    for (int i = 0; r->args[i]; i++)
        argv[argc++] = (char *)r->args[i];
    assert_int_equal(ctl_flags_init(&f), 0);
    if (ctl_flags_parse(&f, argc, argv, err, sizeof err) != 0) fail_msg("%s", err);
    note_acc a = {0};
    int n = ctl_flags_notes(&f, acc_note, &a);
    assert_int_equal(n, a.n[1] + a.n[2] + a.n[3]);
    assert_int_equal(a.n[CTL_NOTE_WARN], r->warn);
    assert_int_equal(a.n[CTL_NOTE_PENDING], r->pending);
    assert_int_equal(a.n[CTL_NOTE_SUPERSEDED], r->superseded);
    if (r->flag_sub && strstr(a.flags, r->flag_sub) == NULL)
        fail_msg("notes name %s, not %s", a.flags, r->flag_sub);
    if (r->msg_sub && strstr(a.msgs, r->msg_sub) == NULL)
        fail_msg("notes say \"%s\", without \"%s\"", a.msgs, r->msg_sub);
    ctl_flags_fini(&f);
}

/* ---- usage and bools ----------------------------------------------------- */

static void
test_usage_lists_every_flag(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    assert_non_null(m);
    ctl_flags_usage(m);
    fclose(m);
    for (size_t i = 0; i < sizeof def_rows / sizeof def_rows[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "--%s ", def_rows[i].name);
        char want_nl[128];
        snprintf(want_nl, sizeof want_nl, "--%s\n", def_rows[i].name);
        if (!strstr(text, want) && !strstr(text, want_nl))
            fail_msg("usage lacks %s", def_rows[i].name);
    }
    assert_non_null(strstr(text, "(default :8080)"));
    assert_non_null(strstr(text, "--shards int"));
    free(text);
}

static void
test_parse_bool_table(void **state)
{
    (void)state;
    const char *t[] = {"1", "t", "T", "TRUE", "true", "True"};
    const char *f[] = {"0", "f", "F", "FALSE", "false", "False"};
    const char *bad[] = {"", "yes", "no", "tRUE", "2", "on"};
    int v;
    for (int i = 0; i < 6; i++) {
        v = -1;
        assert_int_equal(ctl_parse_bool(t[i], &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(ctl_parse_bool(f[i], &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(ctl_parse_bool(bad[i], &v), ERR_INVALID);
    }
}

static void
test_get_unknown(void **state)
{
    (void)state;
    ctl_flags f;
    char buf[16];
    assert_int_equal(ctl_flags_init(&f), 0);
    assert_int_equal(ctl_flags_get(&f, "nope", buf, sizeof buf), ERR_NOTFOUND);
    assert_false(ctl_flags_was_set(&f, "nope"));
    ctl_flags_fini(&f);
    ctl_flags_fini(&f); /* twice is safe */
}

#define ROWS(arr, fn, namefield)                                                                   \
    for (size_t i = 0; i < sizeof(arr) / sizeof((arr)[0]); i++)                                    \
        tests[n++] = (struct CMUnitTest)                                                           \
        {                                                                                          \
            .name = (arr)[i].namefield, .test_func = fn, .initial_state = (void *)&(arr)[i]        \
        }

int
main(void)
{
    static struct CMUnitTest tests[512];
    size_t n = 0;
    log_setup(stderr, LOG_ERROR);
    ROWS(def_rows, test_default, name);
    ROWS(parse_rows, test_parse, name);
    ROWS(dur_rows, test_duration, in);
    ROWS(note_rows, test_notes, name);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_default_shards);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_usage_lists_every_flag);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_bool_table);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_get_unknown);
    return _cmocka_run_group_tests("controller_flags", tests, n, NULL, NULL);
}
