// uWebSockets peer for bench/run (issue 18, item 6): the client-facing
// contract of wsgate's plain WebSocket endpoint for what wsbench --proto ws
// uses, on uWebSockets + uSockets with uWS's built-in topic pub/sub.
//
//   uws-peer PORT ADMIN_PORT [THREADS]   (env BENCH_SECRET, BENCH_API_KEY)
//
// PORT: GET /ws upgrades with a JWT HS256 in "Authorization: Bearer"
// (signature checked with OpenSSL's HMAC, alg must be HS256, exp checked
// when present; anything else: 401, no upgrade). Every connection joins
// the topics user:<sub> and the broadcast topic, as wsgate joins every
// authenticated connection to its personal room. Client messages:
//   {"type":"subscribe","room":R|"rooms":[..],"id":I}
//       -> {"type":"ack","id":I,"ok":true,"rooms":[..]}
//   {"type":"unsubscribe",...} -> the same ack;  {"type":"ping","id":I}
//       -> {"type":"pong","ts":<ms>,"id":I}; anything else: an error object
// Events: {"type":"event","room":R,"event":E,"data":D,"offset":N} (no
// "room" for a user or broadcast publish, as wsgate).
// ADMIN_PORT: POST /api/publish (Authorization: Bearer <BENCH_API_KEY>)
// with {"room"|"rooms"|"user"|none, "event", "data"} or an array of those
// -> {"ok":true,"offset":N} or {"ok":true,"offsets":[..]}; GET /readyz and
// /healthz -> {"ok":true} once every thread listens.
//
// THREADS > 1 is uWS's multi-thread pattern: one App (and one event loop)
// per thread, each listening on both ports (uSockets sets SO_REUSEPORT, so
// the kernel spreads the accepted connections over them); a publish taken
// by one thread is handed to every thread's loop (its own included) with
// Loop::defer, one closure per request (see publishBody for why its own).
// Slow consumers: 1 MiB buffered -> closed, as wsgate's max_outbound_buffer.
#include "App.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

const char BROADCAST[] = "\x01*"; // no client can name it (not printable)

std::string secret, apiKey;
int port, adminPort;
unsigned nthreads = 1;

std::mutex appsLock;
std::vector<std::pair<uWS::App *, uWS::Loop *>> apps; // every thread's
std::atomic<unsigned> listening{0};
std::atomic<unsigned long long> offsetSeq{0};

struct Conn {
    std::string sub;
};

using Batch = std::vector<std::pair<std::string, std::string>>; // topic, text

long long nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
        .count();
}

// base64url without padding -> bytes; false on a bad character.
bool b64urlDecode(std::string_view in, std::string &out)
{
    unsigned v = 0;
    int bits = 0;
    out.clear();
    for (char ch : in) {
        int d;
        if (ch >= 'A' && ch <= 'Z') d = ch - 'A';
        else if (ch >= 'a' && ch <= 'z') d = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9') d = ch - '0' + 52;
        else if (ch == '-') d = 62;
        else if (ch == '_') d = 63;
        else return false;
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back((char)((v >> bits) & 0xff));
        }
    }
    return true;
}

// A JWT HS256 -> its "sub" (a string or an integer) in *sub; false when the
// token is malformed, not HS256, badly signed or expired.
bool verifyJwt(std::string_view tok, std::string *sub)
{
    size_t d1 = tok.find('.'), d2;
    if (d1 == std::string_view::npos) return false;
    d2 = tok.find('.', d1 + 1);
    if (d2 == std::string_view::npos || tok.find('.', d2 + 1) != tok.npos)
        return false;
    std::string head, claims, sig;
    if (!b64urlDecode(tok.substr(0, d1), head)
        || !b64urlDecode(tok.substr(d1 + 1, d2 - d1 - 1), claims)
        || !b64urlDecode(tok.substr(d2 + 1), sig) || sig.size() != 32)
        return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (HMAC(EVP_sha256(), secret.data(), (int)secret.size(),
             (const unsigned char *)tok.data(), d2, mac, &maclen) == nullptr
        || maclen != 32 || CRYPTO_memcmp(mac, sig.data(), 32) != 0)
        return false;
    json_t *h = json_loadb(head.data(), head.size(), 0, nullptr);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    bool ok = alg && std::strcmp(alg, "HS256") == 0;
    json_decref(h);
    if (!ok) return false;
    json_t *c = json_loadb(claims.data(), claims.size(), 0, nullptr);
    json_t *exp = json_object_get(c, "exp"), *s = json_object_get(c, "sub");
    ok = json_is_object(c)
         && !(json_is_number(exp) && json_number_value(exp) * 1000 < nowMs());
    if (ok && json_is_string(s))
        *sub = json_string_value(s);
    else if (ok && json_is_integer(s))
        *sub = std::to_string(json_integer_value(s));
    else
        ok = false;
    json_decref(c);
    return ok;
}

// wsgate's rule for a room name: 1-200 printable ASCII characters.
bool roomValid(const char *r, size_t n)
{
    if (n == 0 || n > 200) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r[i] < 0x20 || (unsigned char)r[i] > 0x7e)
            return false;
    return true;
}

std::string dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    std::string r = s ? s : "null";
    std::free(s);
    return r;
}

// A room name as a JSON string.
std::string quote(const std::string &t)
{
    json_t *j = json_stringn(t.data(), t.size());
    std::string r = dump(j);
    json_decref(j);
    return r;
}

void sendJson(uWS::WebSocket<false, true, Conn> *ws, json_t *o)
{
    ws->send(dump(o), uWS::OpCode::TEXT);
    json_decref(o);
}

void sendError(uWS::WebSocket<false, true, Conn> *ws, const char *code,
               const char *msg)
{
    sendJson(ws, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
                           "message", msg));
}

// {"type":"subscribe"|"unsubscribe","room"|"rooms",...}: all or nothing,
// as wsgate; another user's personal room is refused.
void onSubscribe(uWS::WebSocket<false, true, Conn> *ws, json_t *m, bool join)
{
    json_t *id = json_object_get(m, "id"), *room = json_object_get(m, "room");
    json_t *rooms = json_object_get(m, "rooms"), *list = json_array(), *r;
    size_t i;
    const std::string &sub = ws->getUserData()->sub;

    if (json_is_string(room))
        json_array_append(list, room);
    else if (json_is_array(rooms) && json_array_size(rooms) <= 100)
        json_array_foreach(rooms, i, r) json_array_append(list, r);
    const char *bad = json_array_size(list) == 0 ? "room or rooms missing" : nullptr;
    json_array_foreach(list, i, r) {
        const char *s = json_string_value(r);
        if (!s || !roomValid(s, json_string_length(r)))
            bad = "room names are 1-200 printable characters";
        else if (join && std::strncmp(s, "user:", 5) == 0
                 && sub != std::string_view(s + 5))
            bad = "not allowed";
    }
    if (bad) {
        json_t *o = json_pack("{s:s, s:O, s:b, s:{s:s, s:s}}", "type", "ack",
                              "id", id ? id : json_null(), "ok", 0, "error",
                              "code", "BAD_ROOM", "message", bad);
        json_decref(list);
        sendJson(ws, o);
        return;
    }
    json_array_foreach(list, i, r) {
        std::string_view t(json_string_value(r), json_string_length(r));
        if (join) ws->subscribe(t);
        else ws->unsubscribe(t);
    }
    sendJson(ws, json_pack("{s:s, s:O, s:b, s:o}", "type", "ack", "id",
                           id ? id : json_null(), "ok", 1, "rooms", list));
}

void onMessage(uWS::WebSocket<false, true, Conn> *ws, std::string_view msg,
               uWS::OpCode op)
{
    if (op != uWS::OpCode::TEXT) {
        sendError(ws, "BAD_MESSAGE", "text messages only");
        return;
    }
    json_t *m = json_loadb(msg.data(), msg.size(), 0, nullptr);
    const char *type = json_string_value(json_object_get(m, "type"));
    if (!json_is_object(m) || !type)
        sendError(ws, "BAD_MESSAGE", "a JSON object with a type");
    else if (std::strcmp(type, "subscribe") == 0)
        onSubscribe(ws, m, true);
    else if (std::strcmp(type, "unsubscribe") == 0)
        onSubscribe(ws, m, false);
    else if (std::strcmp(type, "ping") == 0) {
        json_t *o = json_pack("{s:s, s:I}", "type", "pong", "ts",
                              (json_int_t)nowMs());
        if (json_object_get(m, "id"))
            json_object_set(o, "id", json_object_get(m, "id"));
        sendJson(ws, o);
    } else
        sendError(ws, "UNKNOWN_TYPE", "unknown message type");
    json_decref(m);
}

// One publish object -> its events in *out (topic, text) and its offset;
// nullptr, or the reason it is refused.
const char *preparePublish(json_t *o, Batch *out, unsigned long long *off)
{
    json_t *room = json_object_get(o, "room"), *rooms = json_object_get(o, "rooms");
    json_t *user = json_object_get(o, "user"), *ev = json_object_get(o, "event");
    std::vector<std::string> targets;
    std::string head = "{\"type\":\"event\"";
    size_t i;
    json_t *r;

    if (!json_is_object(o)) return "each publish must be a JSON object";
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (std::strcmp(key, "room") && std::strcmp(key, "rooms")
            && std::strcmp(key, "user") && std::strcmp(key, "event")
            && std::strcmp(key, "data"))
            return "unknown field (expected room, rooms, user, event, data)";
    }
    if ((room != nullptr) + (rooms != nullptr) + (user != nullptr) > 1)
        return "give at most one of room, rooms and user";
    if (!json_is_string(ev) || json_string_length(ev) == 0
        || json_string_length(ev) > 200)
        return "event must be a string of 1-200 characters";
    if (room) {
        if (!json_is_string(room) || !roomValid(json_string_value(room),
                                                json_string_length(room)))
            return "room must be 1-200 printable characters";
        targets.emplace_back(json_string_value(room), json_string_length(room));
    } else if (rooms) {
        if (!json_is_array(rooms) || json_array_size(rooms) == 0
            || json_array_size(rooms) > 100)
            return "rooms must be an array of 1-100 room names";
        json_array_foreach(rooms, i, r) {
            if (!json_is_string(r)
                || !roomValid(json_string_value(r), json_string_length(r)))
                return "room names are 1-200 printable characters";
            targets.emplace_back(json_string_value(r), json_string_length(r));
        }
    } else if (user) {
        if (json_is_string(user) && json_string_length(user) > 0)
            targets.push_back("user:" + std::string(json_string_value(user)));
        else if (json_is_integer(user))
            targets.push_back("user:" + std::to_string(json_integer_value(user)));
        else
            return "user must be a non-empty string or an integer";
    }
    *off = ++offsetSeq;
    std::string tail = ",\"event\":" + dump(ev) + ",\"data\":"
                       + dump(json_object_get(o, "data")) + ",\"offset\":"
                       + std::to_string(*off) + "}";
    if (targets.empty())
        out->emplace_back(BROADCAST, head + tail);
    for (auto &t : targets) {
        // Rooms name the room in the event; a user publish does not.
        std::string text = room || rooms
            ? head + ",\"room\":" + quote(t) + tail
            : head + tail;
        out->emplace_back(std::move(t), std::move(text));
    }
    return nullptr;
}

void reply(uWS::HttpResponse<false> *res, const char *status, const std::string &body)
{
    res->writeStatus(status)
        ->writeHeader("Content-Type", "application/json")
        ->end(body);
}

// A whole POST /api/publish body.
void publishBody(uWS::HttpResponse<false> *res, const std::string &body)
{
    json_error_t err;
    json_t *j = json_loadb(body.data(), body.size(), 0, &err);
    auto batch = std::make_shared<Batch>();
    std::vector<unsigned long long> offs;
    bool arr = json_is_array(j);
    const char *why = j ? nullptr : "body is not JSON";
    size_t i;
    json_t *o;

    if (arr && (json_array_size(j) == 0 || json_array_size(j) > 1000))
        why = "a batch holds 1-1000 publishes";
    else if (arr) {
        json_array_foreach(j, i, o) {
            unsigned long long off;
            if ((why = preparePublish(o, batch.get(), &off))) break;
            offs.push_back(off);
        }
    } else if (j) {
        unsigned long long off;
        if (!(why = preparePublish(j, batch.get(), &off))) offs.push_back(off);
    }
    json_decref(j);
    if (why) {
        json_t *e = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
                              "BAD_REQUEST", "message", why);
        reply(res, "400 Bad Request", dump(e));
        json_decref(e);
        return;
    }
    // Every thread's App publishes the batch from its own loop, this one's
    // included: not from inside this request's handler, where uWS has
    // corked the HTTP socket, so that a subscriber's 33rd queued message
    // (TopicTree drains a subscriber at 32) would go out uncorked, one
    // send() per message. The answer below goes first, as wsgate answers
    // a publish once it is accepted.
    {
        std::lock_guard<std::mutex> g(appsLock);
        for (auto &a : apps) {
            uWS::App *to = a.first;
            a.second->defer([to, batch]() {
                for (auto &p : *batch)
                    to->publish(p.first, p.second, uWS::OpCode::TEXT);
            });
        }
    }
    std::string r = "{\"ok\":true,";
    if (arr) {
        r += "\"offsets\":[";
        for (size_t k = 0; k < offs.size(); k++)
            r += (k ? "," : "") + std::to_string(offs[k]);
        r += "]}";
    } else
        r += "\"offset\":" + std::to_string(offs[0]) + "}";
    reply(res, "200 OK", r);
}

void serve()
{
    uWS::App *app = new uWS::App();
    uWS::App::WebSocketBehavior<Conn> b;
    b.compression = uWS::DISABLED;
    b.maxPayloadLength = 64 * 1024;
    b.idleTimeout = 120;
    b.maxBackpressure = 1024 * 1024;
    b.closeOnBackpressureLimit = true;
    b.upgrade = [](uWS::HttpResponse<false> *res, uWS::HttpRequest *req,
                   us_socket_context_t *ctx) {
        std::string_view auth = req->getHeader("authorization");
        std::string sub;
        if (auth.size() < 8 || auth.substr(0, 7) != "Bearer "
            || !verifyJwt(auth.substr(7), &sub)) {
            res->writeStatus("401 Unauthorized")
                ->writeHeader("Content-Type", "application/json")
                ->end("{\"type\":\"error\",\"code\":\"TOKEN_INVALID\","
                      "\"message\":\"a valid bearer token is required\"}", true);
            return;
        }
        res->template upgrade<Conn>({std::move(sub)},
                                    req->getHeader("sec-websocket-key"),
                                    req->getHeader("sec-websocket-protocol"),
                                    req->getHeader("sec-websocket-extensions"),
                                    ctx);
    };
    b.open = [](uWS::WebSocket<false, true, Conn> *ws) {
        ws->subscribe("user:" + ws->getUserData()->sub);
        ws->subscribe(BROADCAST);
    };
    b.message = onMessage;
    app->ws<Conn>("/ws", std::move(b));

    app->get("/readyz", [](auto *res, auto *) {
        if (listening.load() == nthreads) reply(res, "200 OK", "{\"ok\":true}");
        else reply(res, "503 Service Unavailable", "{\"ok\":false}");
    });
    app->get("/healthz", [](auto *res, auto *) { reply(res, "200 OK", "{\"ok\":true}"); });
    app->post("/api/publish", [](auto *res, auto *req) {
        if (req->getHeader("authorization") != "Bearer " + apiKey) {
            reply(res, "401 Unauthorized", "{\"ok\":false,\"error\":{\"code\":"
                  "\"UNAUTHORIZED\",\"message\":\"bad api key\"}}");
            return;
        }
        auto body = std::make_shared<std::string>();
        res->onAborted([]() {});
        res->onData([res, body](std::string_view chunk, bool last) {
            // Past 4 MiB the rest is dropped and the answer is 413.
            if (body->size() <= 4 * 1024 * 1024) body->append(chunk);
            if (!last) return;
            if (body->size() > 4 * 1024 * 1024)
                reply(res, "413 Payload Too Large", "{\"ok\":false}");
            else
                publishBody(res, *body);
        });
    });
    app->any("/*", [](auto *res, auto *) {
        reply(res, "404 Not Found", "{\"ok\":false}");
    });
    {
        std::lock_guard<std::mutex> g(appsLock);
        apps.emplace_back(app, uWS::Loop::get());
    }
    int ok = 0;
    app->listen("127.0.0.1", port, [&ok](auto *ls) { ok += ls != nullptr; });
    app->listen("127.0.0.1", adminPort, [&ok](auto *ls) { ok += ls != nullptr; });
    if (ok != 2) {
        std::fprintf(stderr, "uws-peer: error: cannot listen on 127.0.0.1:%d "
                     "and :%d\n", port, adminPort);
        std::exit(1);
    }
    listening++;
    app->run();
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        std::fprintf(stderr, "usage: uws-peer PORT ADMIN_PORT [THREADS]\n");
        return 2;
    }
    port = std::atoi(argv[1]);
    adminPort = std::atoi(argv[2]);
    if (argc == 4) nthreads = (unsigned)std::atoi(argv[3]);
    const char *s = std::getenv("BENCH_SECRET"), *k = std::getenv("BENCH_API_KEY");
    if (port <= 0 || adminPort <= 0 || nthreads < 1 || nthreads > 64 || !s
        || !*s || !k || !*k) {
        std::fprintf(stderr, "uws-peer: error: bad ports or threads, or "
                     "BENCH_SECRET / BENCH_API_KEY unset\n");
        return 2;
    }
    secret = s;
    apiKey = k;
    std::vector<std::thread> ts;
    for (unsigned i = 1; i < nthreads; i++) ts.emplace_back(serve);
    serve();
    for (auto &t : ts) t.join();
    return 0;
}
