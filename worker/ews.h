/*
 * Engine.IO over WebSocket: a session opened on a WebSocket, and the
 * upgrade of a polling session (2probe, 3probe, 5), after which the
 * WebSocket carries the session and what polling had queued. Above eng.c:
 * it registers its ws_app there (eng_set_ws_app) at init.
 */
#ifndef WSGATE_WORKER_EWS_H
#define WSGATE_WORKER_EWS_H

/* Register the transport with eng.c (after eng_init). */
void ews_init(void);

#endif
