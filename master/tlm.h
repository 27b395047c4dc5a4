/*
 * The master's TLS context for the public TLS port: built from the
 * configuration at start and again on each reload, with the ticket secret
 * the master makes once (so tickets stay valid across reloads and every
 * worker, forked with the context, resumes the others' sessions). A
 * context that cannot be built leaves the previous one in use.
 */
#ifndef WSGATE_MASTER_TLM_H
#define WSGATE_MASTER_TLM_H

struct cfg;
struct ssl_ctx_st;

/* Build the context of c (nothing when TLS is off). 0, or -1 logged. */
int tlm_init(const struct cfg *c);

/* Build the context of the new configuration nc and make it current (the
 * old one is freed here; forked workers keep their copy). 0, or -1 logged
 * with the old context still current. */
int tlm_reload(const struct cfg *nc);

/* The current context (NULL when TLS is off); borrowed. */
struct ssl_ctx_st *tlm_ctx(void);

/* The admin port's current context (NULL unless admin_tls); borrowed. A
 * reload may replace it: take it again for each new connection. */
struct ssl_ctx_st *tlm_admin_ctx(void);

/* Free the contexts (master exit). */
void tlm_free(void);

#endif
