/* sim_tls.h - TLS for kubesim: an SSL_CTX from PEM files, or a self-signed
 * certificate (CA:TRUE, SAN 127.0.0.1 and localhost) made at start. */
#ifndef ASC_SIM_TLS_H
#define ASC_SIM_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* cert/key NULL: self-signed; *ca_pem receives the certificate PEM (caller
 * frees) to put into the kubeconfig. NULL with err on failure. */
SSL_CTX *sim_tls_ctx(const char *cert, const char *key, char **ca_pem, char *err, size_t errlen);

#endif
