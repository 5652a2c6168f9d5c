/* sim_tls.c - server TLS context (see sim_tls.h). */
#include "bench/kubesim/sim_tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
tls_err(char *err, size_t errlen, const char *what)
{
    char e[256] = "";
    unsigned long code = ERR_get_error();
    if (code) ERR_error_string_n(code, e, sizeof e);
    snprintf(err, errlen, "%s: %s", what, e);
}

static int
add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex) return -1;
    X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return 0;
}

static char *
cert_pem(X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    PEM_write_bio_X509(b, cert);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (out) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    BIO_free(b);
    return out;
}

SSL_CTX *
sim_tls_ctx(const char *certf, const char *keyf, char **ca_pem, char *err, size_t errlen)
{
    *ca_pem = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_err(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (certf && keyf) {
        if (SSL_CTX_use_certificate_chain_file(ctx, certf) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, keyf, SSL_FILETYPE_PEM) != 1) {
            tls_err(err, errlen, "loading --tls-cert/--tls-key");
            SSL_CTX_free(ctx);
            return NULL;
        }
        FILE *f = fopen(certf, "r");
        if (f) {
            X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
            fclose(f);
            if (c) {
                *ca_pem = cert_pem(c);
                X509_free(c);
            }
        }
        return ctx;
    }
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    if (!pkey || !cert) {
        tls_err(err, errlen, "key generation");
        EVP_PKEY_free(pkey);
        X509_free(cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)(time(NULL) & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
    X509_set_pubkey(cert, pkey);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kubesim", -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    add_ext(cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert, NID_key_usage, "critical,digitalSignature,keyCertSign,keyEncipherment");
    add_ext(cert, NID_ext_key_usage, "serverAuth");
    add_ext(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    if (!X509_sign(cert, pkey, EVP_sha256()) || SSL_CTX_use_certificate(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
        tls_err(err, errlen, "self-signed certificate");
        EVP_PKEY_free(pkey);
        X509_free(cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    *ca_pem = cert_pem(cert);
    EVP_PKEY_free(pkey);
    X509_free(cert);
    return ctx;
}
