/*
 * Redis-emitter interop codec: channel names, the broadcasts and requests
 * that @socket.io/redis-emitter 5.1.0 and @socket.io/redis-adapter 8.3.0
 * publish, decoded into wsgate's terms; notepack.io 2.x tolerance; every
 * limit; truncated and malformed input.
 *
 * The vectors below are the exact bytes the npm packages published, not
 * hand-made: @socket.io/redis-emitter 5.1.0, @socket.io/redis-adapter
 * 8.3.0 and notepack.io 3.0.1 (plus notepack.io 2.3.0 given to the
 * emitter as its parser), run once in a scratch directory with a fake
 * Redis client that recorded every publish(channel, message). The
 * expected JSON is what a Node receiver makes of the same bytes
 * (notepack.io decode, then socket.io-parser 4's Encoder), so these tests
 * compare wsgate's output with Node's byte for byte. The scripts are at
 * the end of this file. Malformed messages are built with msgpack-c's
 * packer or by hand.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/rde.h"
#include "common/sio.h"

/* emitter.emit("hello", "world") on socket.io#/# */
static const unsigned char E_ALL[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92,
    0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xa5, 0x77, 0x6f, 0x72, 0x6c,
    0x64, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72, 0x6f,
    0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
    0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.to("lead:42").emit("lead.updated", {id: 42, name: "Zoë"})
 * on socket.io#/#lead:42# */
static const unsigned char E_ROOM[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92,
    0xac, 0x6c, 0x65, 0x61, 0x64, 0x2e, 0x75, 0x70, 0x64, 0x61, 0x74,
    0x65, 0x64, 0x82, 0xa2, 0x69, 0x64, 0x2a, 0xa4, 0x6e, 0x61, 0x6d,
    0x65, 0xa4, 0x5a, 0x6f, 0xc3, 0xab, 0xa3, 0x6e, 0x73, 0x70, 0xa1,
    0x2f, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa7, 0x6c,
    0x65, 0x61, 0x64, 0x3a, 0x34, 0x32, 0xa5, 0x66, 0x6c, 0x61, 0x67,
    0x73, 0x80, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.of("/admin").to(["a", "b"]).except("c").volatile
 *     .compress(false).emit("tick", 1, 2.5, -3, null, true)
 * on socket.io#/admin#. opts keys: rooms, flags, except */
static const unsigned char E_NSP_ROOMS_FLAGS_EXCEPT[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x96, 0xa4, 0x74,
    0x69, 0x63, 0x6b, 0x01, 0xcb, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xfd, 0xc0, 0xc3, 0xa3, 0x6e, 0x73, 0x70, 0xa6, 0x2f, 0x61, 0x64,
    0x6d, 0x69, 0x6e, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x92, 0xa1,
    0x61, 0xa1, 0x62, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x82, 0xa8, 0x76,
    0x6f, 0x6c, 0x61, 0x74, 0x69, 0x6c, 0x65, 0xc3, 0xa8, 0x63, 0x6f, 0x6d,
    0x70, 0x72, 0x65, 0x73, 0x73, 0xc2, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70,
    0x74, 0x91, 0xa1, 0x63,
};

/* emitter.emit("file", Buffer.from([1, 2, 3]),
 *     {nested: {buf: Buffer.from("xyz"), list: [Buffer.alloc(0)]}}, "tail") */
static const unsigned char E_BINARY[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x94, 0xa4, 0x66,
    0x69, 0x6c, 0x65, 0xc4, 0x03, 0x01, 0x02, 0x03, 0x81, 0xa6, 0x6e, 0x65,
    0x73, 0x74, 0x65, 0x64, 0x82, 0xa3, 0x62, 0x75, 0x66, 0xc4, 0x03, 0x78,
    0x79, 0x7a, 0xa4, 0x6c, 0x69, 0x73, 0x74, 0x91, 0xc4, 0x00, 0xa4, 0x74,
    0x61, 0x69, 0x6c, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72,
    0x6f, 0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
    0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.emit("types", {a: [1, [2, [3, {b: null}]]], big: 2 ** 53 - 1,
 *     neg: -(2 ** 40), u32: 4294967295, i8: -100, f: 0.1, f2: -1.25e-300,
 *     huge: 1e300, tiny: 1.5e-7, e21: 1.5e21, utf: "héllo 世界 🎉",
 *     esc: "quote\" back\\ nl\n tab\t ctl\u0001", undef: undefined,
 *     date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), inf: Infinity,
 *     nan: NaN}, [undefined, -0])
 * notepack quirks: huge (integral, beyond int64) goes out as int64 0 and e21
 * as a wrong uint64; undef is left out of the map; the date is ext -1
 * timestamp 64; -0 is fixint 0 */
static const unsigned char E_TYPES[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x93, 0xa5, 0x74,
    0x79, 0x70, 0x65, 0x73, 0x8f, 0xa1, 0x61, 0x92, 0x01, 0x92, 0x02, 0x92,
    0x03, 0x81, 0xa1, 0x62, 0xc0, 0xa3, 0x62, 0x69, 0x67, 0xcf, 0x00, 0x1f,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa3, 0x6e, 0x65, 0x67, 0xd3, 0xff,
    0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa3, 0x75, 0x33, 0x32, 0xce,
    0xff, 0xff, 0xff, 0xff, 0xa2, 0x69, 0x38, 0xd0, 0x9c, 0xa1, 0x66, 0xcb,
    0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0xa2, 0x66, 0x32, 0xcb,
    0x81, 0xaa, 0xc9, 0xa7, 0xb3, 0xb7, 0x30, 0x2f, 0xa4, 0x68, 0x75, 0x67,
    0x65, 0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa4, 0x74,
    0x69, 0x6e, 0x79, 0xcb, 0x3e, 0x84, 0x21, 0xf5, 0xf4, 0x0d, 0x83, 0x76,
    0xa3, 0x65, 0x32, 0x31, 0xcf, 0x50, 0xae, 0x84, 0xa8, 0xcd, 0xf0, 0x00,
    0x00, 0xa3, 0x75, 0x74, 0x66, 0xb2, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f,
    0x20, 0xe4, 0xb8, 0x96, 0xe7, 0x95, 0x8c, 0x20, 0xf0, 0x9f, 0x8e, 0x89,
    0xa3, 0x65, 0x73, 0x63, 0xba, 0x71, 0x75, 0x6f, 0x74, 0x65, 0x22, 0x20,
    0x62, 0x61, 0x63, 0x6b, 0x5c, 0x20, 0x6e, 0x6c, 0x0a, 0x20, 0x74, 0x61,
    0x62, 0x09, 0x20, 0x63, 0x74, 0x6c, 0x01, 0xa4, 0x64, 0x61, 0x74, 0x65,
    0xd7, 0xff, 0xa1, 0xa5, 0xd6, 0x00, 0x65, 0x93, 0x7d, 0x25, 0xa3, 0x69,
    0x6e, 0x66, 0xcb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa3,
    0x6e, 0x61, 0x6e, 0xcb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x92, 0xc0, 0x00, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72,
    0x6f, 0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
    0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.emit("ping") */
static const unsigned char E_NOARGS[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x91, 0xa4, 0x70,
    0x69, 0x6e, 0x67, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72,
    0x6f, 0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
    0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* new Emitter(redis, {key: "myapp"}).of("chat").to("room#1").emit("m", "x")
 * on myapp#/chat#room#1# */
static const unsigned char E_KEY_NSP_HASH_ROOM[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92,
    0xa1, 0x6d, 0xa1, 0x78, 0xa3, 0x6e, 0x73, 0x70, 0xa5, 0x2f, 0x63,
    0x68, 0x61, 0x74, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91,
    0xa6, 0x72, 0x6f, 0x6f, 0x6d, 0x23, 0x31, 0xa5, 0x66, 0x6c, 0x61,
    0x67, 0x73, 0x80, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.emit("big", "x".repeat(300), [0, 1000, ..., 19000],
 *     {k0: 0, ..., k16: 16}): str 16, array 16, map 16 */
static const unsigned char E_LARGE[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x94, 0xa3, 0x62,
    0x69, 0x67, 0xda, 0x01, 0x2c, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78, 0x78,
    0x78, 0x78, 0x78, 0x78, 0x78, 0xdc, 0x00, 0x14, 0x00, 0xcd, 0x03, 0xe8,
    0xcd, 0x07, 0xd0, 0xcd, 0x0b, 0xb8, 0xcd, 0x0f, 0xa0, 0xcd, 0x13, 0x88,
    0xcd, 0x17, 0x70, 0xcd, 0x1b, 0x58, 0xcd, 0x1f, 0x40, 0xcd, 0x23, 0x28,
    0xcd, 0x27, 0x10, 0xcd, 0x2a, 0xf8, 0xcd, 0x2e, 0xe0, 0xcd, 0x32, 0xc8,
    0xcd, 0x36, 0xb0, 0xcd, 0x3a, 0x98, 0xcd, 0x3e, 0x80, 0xcd, 0x42, 0x68,
    0xcd, 0x46, 0x50, 0xcd, 0x4a, 0x38, 0xde, 0x00, 0x11, 0xa2, 0x6b, 0x30,
    0x00, 0xa2, 0x6b, 0x31, 0x01, 0xa2, 0x6b, 0x32, 0x02, 0xa2, 0x6b, 0x33,
    0x03, 0xa2, 0x6b, 0x34, 0x04, 0xa2, 0x6b, 0x35, 0x05, 0xa2, 0x6b, 0x36,
    0x06, 0xa2, 0x6b, 0x37, 0x07, 0xa2, 0x6b, 0x38, 0x08, 0xa2, 0x6b, 0x39,
    0x09, 0xa3, 0x6b, 0x31, 0x30, 0x0a, 0xa3, 0x6b, 0x31, 0x31, 0x0b, 0xa3,
    0x6b, 0x31, 0x32, 0x0c, 0xa3, 0x6b, 0x31, 0x33, 0x0d, 0xa3, 0x6b, 0x31,
    0x34, 0x0e, 0xa3, 0x6b, 0x31, 0x35, 0x0f, 0xa3, 0x6b, 0x31, 0x36, 0x10,
    0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d,
    0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80, 0xa6, 0x65, 0x78,
    0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.emit("dates", new Date(-1500),
 *     new Date(Date.UTC(2200, 0, 1, 0, 0, 0, 1)), new Date(0),
 *     new Date(Date.UTC(-10, 5, 6))): timestamp 96, 64, 32, 96 */
static const unsigned char E_DATES[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x95, 0xa5, 0x64,
    0x61, 0x74, 0x65, 0x73, 0xc7, 0x0c, 0xff, 0x1d, 0xcd, 0x65, 0x00, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xd7, 0xff, 0x00, 0x3d, 0x09,
    0x01, 0xb0, 0x9e, 0x19, 0x00, 0xd6, 0xff, 0x00, 0x00, 0x00, 0x00, 0xc7,
    0x0c, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xf1, 0x74, 0x8a,
    0x88, 0x00, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72, 0x6f,
    0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80, 0xa6,
    0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.emit("typed", new Uint8Array([9, 8]).buffer,
 *     new Uint16Array([0x102])) (notepack copies a typed array's values,
 * truncated to bytes, not its bytes) */
static const unsigned char E_TYPED[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x93,
    0xa5, 0x74, 0x79, 0x70, 0x65, 0x64, 0xc4, 0x02, 0x09, 0x08, 0xc4,
    0x01, 0x02, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72,
    0x6f, 0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73,
    0x80, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* emitter.compress(true).to("r").emit("c", 0) */
static const unsigned char E_COMPRESS_TRUE[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92,
    0xa1, 0x63, 0x00, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5,
    0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa1, 0x72, 0xa5, 0x66, 0x6c,
    0x61, 0x67, 0x73, 0x81, 0xa8, 0x63, 0x6f, 0x6d, 0x70, 0x72, 0x65,
    0x73, 0x73, 0xc3, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* new Emitter(redis, {parser: notepack2}).emit("old", undefined,
 *     new Uint8Array([7, 7, 7]).buffer, new Date(Date.UTC(2020, 1, 29, 12)))
 * notepack.io 2.3.0: undefined is fixext 1 type 0, an ArrayBuffer ext 8
 * type 0, a Date fixext 8 type 0 holding int64 milliseconds */
static const unsigned char N2_UNDEF_AB_DATE[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x94,
    0xa3, 0x6f, 0x6c, 0x64, 0xd4, 0x00, 0x00, 0xc7, 0x03, 0x00, 0x07,
    0x07, 0x07, 0xd7, 0x00, 0x00, 0x00, 0x01, 0x70, 0x90, 0xd1, 0x4a,
    0x00, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5, 0x72, 0x6f,
    0x6f, 0x6d, 0x73, 0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
    0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* the same emitter: .to("r").emit("old", {gone: undefined, kept: 1}) */
static const unsigned char N2_UNDEF_IN_MAP[] = {
    0x93, 0xa7, 0x65, 0x6d, 0x69, 0x74, 0x74, 0x65, 0x72, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92, 0xa3, 0x6f,
    0x6c, 0x64, 0x82, 0xa4, 0x67, 0x6f, 0x6e, 0x65, 0xd4, 0x00, 0x00, 0xa4,
    0x6b, 0x65, 0x70, 0x74, 0x01, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83,
    0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa1, 0x72, 0xa5, 0x66, 0x6c,
    0x61, 0x67, 0x73, 0x80, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* adapter.broadcast({type: 2, data: ["ev", 1]}, {rooms: new Set(["r1"]),
 *     except: new Set(["sid123"]), flags: {volatile: true}})
 * on socket.io#/#r1#. opts keys: rooms, except, flags */
static const unsigned char A_BCAST[] = {
    0x93, 0xa6, 0x41, 0x62, 0x33, 0x64, 0x45, 0x36, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92, 0xa2,
    0x65, 0x76, 0x01, 0xa3, 0x6e, 0x73, 0x70, 0xa1, 0x2f, 0x83, 0xa5,
    0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x91, 0xa2, 0x72, 0x31, 0xa6, 0x65,
    0x78, 0x63, 0x65, 0x70, 0x74, 0x91, 0xa6, 0x73, 0x69, 0x64, 0x31,
    0x32, 0x33, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x81, 0xa8, 0x76,
    0x6f, 0x6c, 0x61, 0x74, 0x69, 0x6c, 0x65, 0xc3,
};

/* adapter.broadcast({type: 2, data: ["ev", {x: []}]},
 *     {rooms: new Set(), except: new Set()}) (flags undefined: no key) */
static const unsigned char A_BCAST_NOFLAGS[] = {
    0x93, 0xa6, 0x41, 0x62, 0x33, 0x64, 0x45, 0x36, 0x83, 0xa4,
    0x74, 0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61,
    0x92, 0xa2, 0x65, 0x76, 0x81, 0xa1, 0x78, 0x90, 0xa3, 0x6e,
    0x73, 0x70, 0xa1, 0x2f, 0x82, 0xa5, 0x72, 0x6f, 0x6f, 0x6d,
    0x73, 0x90, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74, 0x90,
};

/* adapter.broadcast({type: 2, data: ["bin", Buffer.from([0xff])]},
 *     {rooms: new Set(["r1", "r2"]), except: new Set(), flags: {}}) */
static const unsigned char A_BCAST_BINARY[] = {
    0x93, 0xa6, 0x41, 0x62, 0x33, 0x64, 0x45, 0x36, 0x83, 0xa4, 0x74,
    0x79, 0x70, 0x65, 0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92, 0xa3,
    0x62, 0x69, 0x6e, 0xc4, 0x01, 0xff, 0xa3, 0x6e, 0x73, 0x70, 0xa1,
    0x2f, 0x83, 0xa5, 0x72, 0x6f, 0x6f, 0x6d, 0x73, 0x92, 0xa2, 0x72,
    0x31, 0xa2, 0x72, 0x32, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74,
    0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x80,
};

/* adapter.broadcastWithAck({type: 2, data: ["q", 1]}, {rooms: new Set(),
 *     except: new Set(), flags: {timeout: 5000}}, ...) on socket.io-request#/#
 */
static const unsigned char A_BCAST_ACK[] = {
    0x85, 0xa3, 0x75, 0x69, 0x64, 0xa6, 0x41, 0x62, 0x33, 0x64, 0x45, 0x36,
    0xa9, 0x72, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x49, 0x64, 0xa6, 0x72,
    0x71, 0x31, 0x78, 0x78, 0x78, 0xa4, 0x74, 0x79, 0x70, 0x65, 0x07, 0xa6,
    0x70, 0x61, 0x63, 0x6b, 0x65, 0x74, 0x83, 0xa4, 0x74, 0x79, 0x70, 0x65,
    0x02, 0xa4, 0x64, 0x61, 0x74, 0x61, 0x92, 0xa1, 0x71, 0x01, 0xa3, 0x6e,
    0x73, 0x70, 0xa1, 0x2f, 0xa4, 0x6f, 0x70, 0x74, 0x73, 0x83, 0xa5, 0x72,
    0x6f, 0x6f, 0x6d, 0x73, 0x90, 0xa6, 0x65, 0x78, 0x63, 0x65, 0x70, 0x74,
    0x90, 0xa5, 0x66, 0x6c, 0x61, 0x67, 0x73, 0x81, 0xa7, 0x74, 0x69, 0x6d,
    0x65, 0x6f, 0x75, 0x74, 0xcd, 0x13, 0x88,
};

/* Requests: the recorded JSON text, byte for byte (sets written {...}). */
#define R_JOIN /* emitter.to("a").except("b").socketsJoin(["c", "d"]) */       \
    "{\"type\":2,\"opts\":{\"rooms\":[\"a\"],\"except\":[\"b\"]},"             \
    "\"rooms\":[\"c\",\"d\"]}"
#define R_LEAVE /* emitter.socketsLeave("c") */                                \
    "{\"type\":3,\"opts\":{\"rooms\":[],\"except\":[]},\"rooms\":[\"c\"]}"
#define R_DISCONNECT_CLOSE /* emitter.in("x").disconnectSockets(true) */       \
    "{\"type\":4,\"opts\":{\"rooms\":[\"x\"],\"except\":[]},\"close\":true}"
#define R_DISCONNECT /* emitter.disconnectSockets() */                         \
    "{\"type\":4,\"opts\":{\"rooms\":[],\"except\":[]},\"close\":false}"
#define R_SSE /* emitter.serverSideEmit("hello", {a: 1}) */                    \
    "{\"uid\":\"emitter\",\"type\":6,\"data\":[\"hello\",{\"a\":1}]}"
/* adapter.addSockets({rooms: {"a"}, except: {}}, ["b"]) */
#define A_JOIN                                                                 \
    "{\"uid\":\"Ab3dE6\",\"type\":2,\"opts\":{\"rooms\":[\"a\"],"              \
    "\"except\":[]},\"rooms\":[\"b\"]}"
/* adapter.delSockets({rooms: {}, except: {"x"}}, ["b", "c"]) */
#define A_LEAVE                                                                \
    "{\"uid\":\"Ab3dE6\",\"type\":3,\"opts\":{\"rooms\":[],\"except\":"        \
    "[\"x\"]},\"rooms\":[\"b\",\"c\"]}"
/* adapter.disconnectSockets({rooms: {"a"}, except: {}}, false) */
#define A_DISCONNECT                                                           \
    "{\"uid\":\"Ab3dE6\",\"type\":4,\"opts\":{\"rooms\":[\"a\"],"              \
    "\"except\":[]},\"close\":false}"
#define A_SSE /* adapter.serverSideEmit(["x", 1]) */                           \
    "{\"uid\":\"Ab3dE6\",\"type\":6,\"data\":[\"x\",1]}"
#define A_FETCH /* adapter.fetchSockets({rooms: {"a"}, except: {}}) */         \
    "{\"uid\":\"Ab3dE6\",\"requestId\":\"rq2xxx\",\"type\":5,\"opts\":"        \
    "{\"rooms\":[\"a\"],\"except\":[]}}"
#define A_ALLROOMS /* adapter.allRooms() */                                    \
    "{\"uid\":\"Ab3dE6\",\"requestId\":\"rq3xxx\",\"type\":1}"

/* Every recorded broadcast with what Node sends for it: the payload JSON
 * and the attachments (hex, comma-separated). */
static const struct vec {
    const char *name;
    const unsigned char *p;
    size_t n;
    const char *json;
    size_t nattach;
    const char *attach;
} vecs[] = {
    {"e_all", E_ALL, sizeof(E_ALL), "[\"hello\",\"world\"]", 0, ""},
    {"e_room", E_ROOM, sizeof(E_ROOM),
     "[\"lead.updated\",{\"id\":42,\"name\":\"Zoë\"}]", 0, ""},
    {"e_nsp_rooms_flags_except", E_NSP_ROOMS_FLAGS_EXCEPT,
     sizeof(E_NSP_ROOMS_FLAGS_EXCEPT), "[\"tick\",1,2.5,-3,null,true]", 0, ""},
    {"e_binary", E_BINARY, sizeof(E_BINARY),
     "[\"file\",{\"_placeholder\":true,\"num\":0},{\"nested\":{\"b"
     "uf\":{\"_placeholder\":true,\"num\":1},\"list\":[{\"_placeho"
     "lder\":true,\"num\":2}]}},\"tail\"]",
     3, "010203,78797a,"},
    {"e_types", E_TYPES, sizeof(E_TYPES),
     "[\"types\",{\"a\":[1,[2,[3,{\"b\":null}]]],\"big\":900719925"
     "4740991,\"neg\":-1099511627776,\"u32\":4294967295,\"i8\":-10"
     "0,\"f\":0.1,\"f2\":-1.25e-300,\"huge\":0,\"tiny\":1.5e-7,\"e"
     "21\":5813730029526319000,\"utf\":\"héllo 世界 🎉\",\"esc\":\"q"
     "uote\\\" back\\\\ nl\\n tab\\t ctl\\u0001\",\"date\":\"2024-"
     "01-02T03:04:05.678Z\",\"inf\":null,\"nan\":null},[null,0]]",
     0, ""},
    {"e_noargs", E_NOARGS, sizeof(E_NOARGS), "[\"ping\"]", 0, ""},
    {"e_key_nsp_hash_room", E_KEY_NSP_HASH_ROOM, sizeof(E_KEY_NSP_HASH_ROOM),
     "[\"m\",\"x\"]", 0, ""},
    {"e_large", E_LARGE, sizeof(E_LARGE),
     "[\"big\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxx\",[0,1000,2000,3000,4000,5000,6000,7000,8000,900"
     "0,10000,11000,12000,13000,14000,15000,16000,17000,18000,1900"
     "0],{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\""
     "k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k1"
     "2\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16}]",
     0, ""},
    {"e_dates", E_DATES, sizeof(E_DATES),
     "[\"dates\",\"1969-12-31T23:59:58.500Z\",\"2200-01-01T00:00:0"
     "0.001Z\",\"1970-01-01T00:00:00.000Z\",\"-000010-06-06T00:00:"
     "00.000Z\"]",
     0, ""},
    {"e_typed", E_TYPED, sizeof(E_TYPED),
     "[\"typed\",{\"_placeholder\":true,\"num\":0},{\"_placeholder"
     "\":true,\"num\":1}]",
     2, "0908,02"},
    {"e_compress_true", E_COMPRESS_TRUE, sizeof(E_COMPRESS_TRUE), "[\"c\",0]",
     0, ""},
    {"n2_undef_ab_date", N2_UNDEF_AB_DATE, sizeof(N2_UNDEF_AB_DATE),
     "[\"old\",null,{\"_placeholder\":true,\"num\":0},\"2020-02-29"
     "T12:00:00.000Z\"]",
     1, "070707"},
    {"n2_undef_in_map", N2_UNDEF_IN_MAP, sizeof(N2_UNDEF_IN_MAP),
     "[\"old\",{\"kept\":1}]", 0, ""},
    {"a_bcast", A_BCAST, sizeof(A_BCAST), "[\"ev\",1]", 0, ""},
    {"a_bcast_noflags", A_BCAST_NOFLAGS, sizeof(A_BCAST_NOFLAGS),
     "[\"ev\",{\"x\":[]}]", 0, ""},
    {"a_bcast_binary", A_BCAST_BINARY, sizeof(A_BCAST_BINARY),
     "[\"bin\",{\"_placeholder\":true,\"num\":0}]", 1, "ff"},
};

#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

static char jbuf[RDE_JSON_CAP(4096)];

#define STREQ(s, lit)                                                          \
    ((s).n == sizeof(lit) - 1 && memcmp((s).p, (lit), (s).n) == 0)

static enum rde_status
dec(const void *p, size_t n, struct rde_bcast *b)
{
    return rde_broadcast(p, n, jbuf, sizeof(jbuf), b);
}

static void
hex(const struct rde_bin *b, size_t n, char *out)
{
    *out = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *out++ = ',';
        for (size_t j = 0; j < b[i].n; j++)
            out += sprintf(out, "%02x", b[i].p[j]);
    }
}

/* msgpack-c's packer, for the messages no library would publish. */
struct mp {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static msgpack_packer *
mp_init(struct mp *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
    return &m->pk;
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* [uid, {type: type, data: [event, ... nargs to follow ...] */
static void
pk_head(msgpack_packer *pk, int type, const char *event, size_t nargs)
{
    msgpack_pack_array(pk, 3);
    pk_str(pk, "u");
    msgpack_pack_map(pk, 2);
    pk_str(pk, "type");
    msgpack_pack_int(pk, type);
    pk_str(pk, "data");
    msgpack_pack_array(pk, 1 + nargs);
    pk_str(pk, event);
}

/* Finish with opts {} and decode. */
static enum rde_status
mp_dec(struct mp *m, struct rde_bcast *b)
{
    enum rde_status st;

    msgpack_pack_map(&m->pk, 0);
    st = dec(m->sb.data, m->sb.size, b);
    msgpack_sbuffer_destroy(&m->sb);
    return st;
}

/* One argument packed by the caller between pk_head and mp_dec. */
#define ONE_ARG(m, b, packing)                                                 \
    (pk_head(mp_init(m), 2, "e", 1), (packing), mp_dec((m), (b)))

START_TEST(rde_channel_names_namespace_and_single_room)
{
    struct rde_chan c;
    const char *ch;

    ch = "socket.io#/#";
    ck_assert_int_eq(rde_channel(NULL, ch, strlen(ch), &c), RDE_OK);
    ck_assert_int_eq(c.kind, RDE_CH_BROADCAST);
    ck_assert(STREQ(c.nsp, "/"));
    ck_assert_uint_eq(c.room.n, 0);

    ch = "socket.io#/#lead:42#";
    ck_assert_int_eq(rde_channel(NULL, ch, strlen(ch), &c), RDE_OK);
    ck_assert(STREQ(c.nsp, "/"));
    ck_assert(STREQ(c.room, "lead:42"));

    /* the emitter of E_KEY_NSP_HASH_ROOM: key myapp, /chat, room#1 */
    ch = "myapp#/chat#room#1#";
    ck_assert_int_eq(rde_channel("myapp", ch, strlen(ch), &c), RDE_OK);
    ck_assert(STREQ(c.nsp, "/chat"));
    ck_assert(STREQ(c.room, "room#1"));
    ck_assert_int_eq(rde_channel(NULL, ch, strlen(ch), &c), RDE_E_CHANNEL);

    ch = "socket.io-request#/admin#";
    ck_assert_int_eq(rde_channel(NULL, ch, strlen(ch), &c), RDE_OK);
    ck_assert_int_eq(c.kind, RDE_CH_REQUEST);
    ck_assert(STREQ(c.nsp, "/admin"));
    ck_assert_uint_eq(c.room.n, 0);
}
END_TEST

START_TEST(rde_channel_rejects_foreign_and_malformed_names)
{
    static const struct {
        const char *ch;
        enum rde_status st;
    } t[] = {
        {"socket.io", RDE_E_CHANNEL},
        {"socket.io#", RDE_E_CHANNEL},
        {"socket.io#/", RDE_E_CHANNEL},      /* no closing '#' */
        {"socket.io#/#room", RDE_E_CHANNEL}, /* room without '#' */
        {"socket.iox#/#", RDE_E_CHANNEL},
        {"other#/#", RDE_E_CHANNEL},
        {"socket.io-response#/#", RDE_E_CHANNEL},
        {"socket.io-request#/#x#", RDE_E_CHANNEL}, /* no rooms there */
        {"socket.io##", RDE_E_NSP},
        {"socket.io#admin#", RDE_E_NSP},
        {"socket.io#/a,b#", RDE_E_NSP},
        {"socket.io#/\x01#", RDE_E_NSP},
        {"socket.io#/\xff#", RDE_E_NSP},
        {"socket.io#/##", RDE_E_ROOM}, /* empty room */
        {"socket.io#/#a b#", RDE_E_ROOM},
        {"socket.io#/#\xc3#", RDE_E_ROOM},
    };
    struct rde_chan c;
    char nsp[RDE_NSP_MAX + 32];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        ck_assert_msg(rde_channel(NULL, t[i].ch, strlen(t[i].ch), &c) ==
                          t[i].st,
                      "%s", t[i].ch);
    ck_assert_int_eq(rde_channel(NULL, NULL, 0, &c), RDE_E_CHANNEL);
    /* a namespace of exactly RDE_NSP_MAX bytes, then one more */
    memcpy(nsp, "socket.io#/", 11);
    memset(nsp + 11, 'n', RDE_NSP_MAX - 1);
    memcpy(nsp + 10 + RDE_NSP_MAX, "#", 2);
    ck_assert_int_eq(rde_channel(NULL, nsp, strlen(nsp), &c), RDE_OK);
    ck_assert_uint_eq(c.nsp.n, RDE_NSP_MAX);
    memcpy(nsp + 10 + RDE_NSP_MAX, "n#", 3);
    ck_assert_int_eq(rde_channel(NULL, nsp, strlen(nsp), &c), RDE_E_NSP);
}
END_TEST

START_TEST(rde_recorded_broadcasts_give_what_node_sends)
{
    struct rde_bcast b;
    char got[256];

    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        ck_assert_msg(dec(v->p, v->n, &b) == RDE_OK, "%s", v->name);
        ck_assert_msg(b.json_len == strlen(v->json) &&
                          memcmp(jbuf, v->json, b.json_len + 1) == 0,
                      "%s: %s", v->name, jbuf);
        ck_assert_uint_eq(b.nattach, v->nattach);
        hex(b.attach, b.nattach, got);
        ck_assert_str_eq(got, v->attach);
        ck_assert_int_eq(b.type, 2);
    }
}
END_TEST

START_TEST(rde_emitter_opts_rooms_flags_except_in_its_order)
{
    struct rde_bcast b;

    ck_assert_int_eq(
        dec(E_NSP_ROOMS_FLAGS_EXCEPT, sizeof(E_NSP_ROOMS_FLAGS_EXCEPT), &b),
        RDE_OK);
    ck_assert(STREQ(b.uid, "emitter"));
    ck_assert(STREQ(b.nsp, "/admin"));
    ck_assert(STREQ(b.event, "tick"));
    ck_assert_uint_eq(b.nrooms, 2);
    ck_assert(STREQ(b.rooms[0], "a"));
    ck_assert(STREQ(b.rooms[1], "b"));
    ck_assert_uint_eq(b.nexcept, 1);
    ck_assert(STREQ(b.except[0], "c"));
    ck_assert_uint_eq(b.flags, RDE_F_VOLATILE | RDE_F_NO_COMPRESS);
    ck_assert_uint_eq(b.nargs, 5);
    ck_assert_uint_eq(b.args_len, strlen("1,2.5,-3,null,true"));
    ck_assert_int_eq(
        memcmp(jbuf + b.args_off, "1,2.5,-3,null,true", b.args_len), 0);
    ck_assert_uint_eq(b.nattach, 0);
}
END_TEST

START_TEST(rde_adapter_opts_rooms_except_flags_in_its_order)
{
    struct rde_bcast b;

    ck_assert_int_eq(dec(A_BCAST, sizeof(A_BCAST), &b), RDE_OK);
    ck_assert(STREQ(b.uid, "Ab3dE6"));
    ck_assert(STREQ(b.nsp, "/"));
    ck_assert_uint_eq(b.nrooms, 1);
    ck_assert(STREQ(b.rooms[0], "r1"));
    ck_assert_uint_eq(b.nexcept, 1);
    ck_assert(STREQ(b.except[0], "sid123"));
    ck_assert_uint_eq(b.flags, RDE_F_VOLATILE);
    /* one argument: the span is exactly its JSON */
    ck_assert_uint_eq(b.nargs, 1);
    ck_assert_uint_eq(b.args_len, 1);
    ck_assert_int_eq(jbuf[b.args_off], '1');

    ck_assert_int_eq(dec(A_BCAST_NOFLAGS, sizeof(A_BCAST_NOFLAGS), &b), RDE_OK);
    ck_assert_uint_eq(b.flags, 0);
    ck_assert_uint_eq(b.nrooms + b.nexcept, 0);
    ck_assert_int_eq(memcmp(jbuf + b.args_off, "{\"x\":[]}", b.args_len), 0);
}
END_TEST

START_TEST(rde_empty_rooms_mean_everyone_and_compress_true_is_default)
{
    struct rde_bcast b;

    ck_assert_int_eq(dec(E_ALL, sizeof(E_ALL), &b), RDE_OK);
    ck_assert_uint_eq(b.nrooms, 0);
    ck_assert_uint_eq(b.nexcept, 0);
    ck_assert_uint_eq(b.flags, 0);
    ck_assert(STREQ(b.event, "hello"));

    ck_assert_int_eq(dec(E_COMPRESS_TRUE, sizeof(E_COMPRESS_TRUE), &b), RDE_OK);
    ck_assert_uint_eq(b.flags, 0);
    ck_assert_uint_eq(b.nrooms, 1);

    ck_assert_int_eq(dec(E_NOARGS, sizeof(E_NOARGS), &b), RDE_OK);
    ck_assert_uint_eq(b.nargs, 0);
    ck_assert_uint_eq(b.args_len, 0);
    ck_assert_str_eq(jbuf, "[\"ping\"]");
}
END_TEST

START_TEST(rde_binary_args_become_placeholders_and_attachments)
{
    struct rde_bcast b;
    json_t *j;

    ck_assert_int_eq(dec(E_BINARY, sizeof(E_BINARY), &b), RDE_OK);
    ck_assert_uint_eq(b.nattach, 3);
    ck_assert_uint_eq(b.attach[0].n, 3);
    ck_assert_int_eq(memcmp(b.attach[0].p, "\x01\x02\x03", 3), 0);
    ck_assert_uint_eq(b.attach[2].n, 0);
    /* the attachments borrow the message */
    ck_assert(b.attach[1].p >= E_BINARY &&
              b.attach[1].p + 3 <= E_BINARY + sizeof(E_BINARY));
    /* and the payload passes wsgate's own placeholder check */
    j = json_loadb(jbuf, b.json_len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(sio_attach_check(j, b.nattach), SIO_OK);
    json_decref(j);
    ck_assert_uint_eq(b.nargs, 3);
}
END_TEST

START_TEST(rde_notepack2_undefined_arraybuffer_and_date_are_read)
{
    struct rde_bcast b;

    ck_assert_int_eq(dec(N2_UNDEF_AB_DATE, sizeof(N2_UNDEF_AB_DATE), &b),
                     RDE_OK);
    ck_assert_uint_eq(b.nattach, 1);
    ck_assert_uint_eq(b.nargs, 3);
    ck_assert_int_eq(dec(N2_UNDEF_IN_MAP, sizeof(N2_UNDEF_IN_MAP), &b), RDE_OK);
    ck_assert_str_eq(jbuf, "[\"old\",{\"kept\":1}]");
}
END_TEST

START_TEST(rde_packet_fields_by_name_with_defaults)
{
    /* [ "u", {data: ["e"], type: 5, id: nil}, {rooms: nil, except: nil,
     *   flags: {local: 1, volatile: 0, compress: nil, binary: true}} ]:
     * keys in another order, no nsp ("/"), a nil id (no ack), nil lists
     * (empty), flags by JavaScript truthiness. */
    static const unsigned char m[] = {
        0x93, 0xa1, 'u',  0x83, 0xa4, 'd',  'a',  't',  'a',  0x91, 0xa1, 'e',
        0xa4, 't',  'y',  'p',  'e',  0x05, 0xa2, 'i',  'd',  0xc0, 0x83, 0xa5,
        'r',  'o',  'o',  'm',  's',  0xc0, 0xa6, 'e',  'x',  'c',  'e',  'p',
        't',  0xc0, 0xa5, 'f',  'l',  'a',  'g',  's',  0x84, 0xa5, 'l',  'o',
        'c',  'a',  'l',  0x01, 0xa8, 'v',  'o',  'l',  'a',  't',  'i',  'l',
        'e',  0x00, 0xa8, 'c',  'o',  'm',  'p',  'r',  'e',  's',  's',  0xc0,
        0xa6, 'b',  'i',  'n',  'a',  'r',  'y',  0xc3,
    };
    struct rde_bcast b;

    ck_assert_int_eq(dec(m, sizeof(m), &b), RDE_OK);
    ck_assert_int_eq(b.type, 5);
    ck_assert(STREQ(b.nsp, "/"));
    ck_assert_uint_eq(b.nrooms + b.nexcept, 0);
    ck_assert_uint_eq(b.flags, RDE_F_LOCAL);
    ck_assert_str_eq(jbuf, "[\"e\"]");
}
END_TEST

START_TEST(rde_refuses_what_wsgate_cannot_send)
{
    struct mp m;
    struct rde_bcast b;
    msgpack_packer *pk;

    /* ack requested: packet.id = 7 */
    pk = mp_init(&m);
    msgpack_pack_array(pk, 3);
    pk_str(pk, "u");
    msgpack_pack_map(pk, 3);
    pk_str(pk, "type");
    msgpack_pack_int(pk, 2);
    pk_str(pk, "id");
    msgpack_pack_int(pk, 7);
    pk_str(pk, "data");
    msgpack_pack_array(pk, 1);
    pk_str(pk, "e");
    ck_assert_int_eq(mp_dec(&m, &b), RDE_E_ACK);

    /* packet types other than EVENT and BINARY_EVENT */
    pk_head(mp_init(&m), 3, "e", 0);
    ck_assert_int_eq(mp_dec(&m, &b), RDE_E_PTYPE);
    pk_head(mp_init(&m), 6, "e", 0);
    ck_assert_int_eq(mp_dec(&m, &b), RDE_E_PTYPE);

    /* reserved and missing event names */
    pk_head(mp_init(&m), 2, "disconnect", 0);
    ck_assert_int_eq(mp_dec(&m, &b), RDE_E_EVENT);
    pk = mp_init(&m);
    msgpack_pack_array(pk, 3);
    pk_str(pk, "u");
    msgpack_pack_map(pk, 2);
    pk_str(pk, "type");
    msgpack_pack_int(pk, 2);
    pk_str(pk, "data");
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 42);
    ck_assert_int_eq(mp_dec(&m, &b), RDE_E_EVENT);

    /* a string that is not UTF-8, a map key that is not a string, an
     * ext type notepack never writes */
    ck_assert_int_eq(
        ONE_ARG(&m, &b, msgpack_pack_str_with_body(&m.pk, "\xc3\x28", 2)),
        RDE_E_UTF8);
    ck_assert_int_eq(
        ONE_ARG(&m, &b,
                (msgpack_pack_map(&m.pk, 1), msgpack_pack_int(&m.pk, 1),
                 msgpack_pack_nil(&m.pk))),
        RDE_E_VALUE);
    ck_assert_int_eq(
        ONE_ARG(&m, &b, msgpack_pack_ext_with_body(&m.pk, "abcd", 4, 5)),
        RDE_E_VALUE);
}
END_TEST

START_TEST(rde_refuses_bad_envelopes_rooms_and_namespaces)
{
    const struct { /* automatic: the compound literals are too */
        const char *what;
        const unsigned char *p;
        size_t n;
        enum rde_status st;
    } t[] = {
#define T(what, st, ...)                                                       \
    {what, (const unsigned char[]){__VA_ARGS__},                               \
     sizeof((const unsigned char[]){__VA_ARGS__}), st}
        T("not an array", RDE_E_SHAPE, 0x80),
        T("two elements", RDE_E_SHAPE, 0x92, 0xa1, 'u', 0x80),
        T("uid not a string", RDE_E_SHAPE, 0x93, 0x01, 0x81, 0xa4, 't', 'y',
          'p', 'e', 0x02, 0x80),
        T("packet nil", RDE_E_SHAPE, 0x93, 0xa1, 'u', 0xc0, 0x80),
        T("opts nil", RDE_E_SHAPE, 0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p',
          'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0xc0),
        T("no type", RDE_E_PTYPE, 0x93, 0xa1, 'u', 0x81, 0xa4, 'd', 'a', 't',
          'a', 0x91, 0xa1, 'e', 0x80),
        T("data a string", RDE_E_SHAPE, 0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y',
          'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0xa1, 'e', 0x80),
        T("data empty", RDE_E_EVENT, 0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y', 'p',
          'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x90, 0x80),
        T("nsp nil", RDE_E_NSP, 0x93, 0xa1, 'u', 0x83, 0xa4, 't', 'y', 'p', 'e',
          0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0xa3, 'n', 's', 'p',
          0xc0, 0x80),
        T("nsp without /", RDE_E_NSP, 0x93, 0xa1, 'u', 0x83, 0xa4, 't', 'y',
          'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0xa3, 'n',
          's', 'p', 0xa1, 'x', 0x80),
        T("room a number", RDE_E_ROOM, 0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y',
          'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0x81, 0xa5,
          'r', 'o', 'o', 'm', 's', 0x91, 0x2a),
        T("room with a space", RDE_E_ROOM, 0x93, 0xa1, 'u', 0x82, 0xa4, 't',
          'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0x81,
          0xa5, 'r', 'o', 'o', 'm', 's', 0x91, 0xa3, 'a', ' ', 'b'),
        T("except empty name", RDE_E_ROOM, 0x93, 0xa1, 'u', 0x82, 0xa4, 't',
          'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0x81,
          0xa6, 'e', 'x', 'c', 'e', 'p', 't', 0x91, 0xa0),
        T("rooms a map", RDE_E_SHAPE, 0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y',
          'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0x81, 0xa5,
          'r', 'o', 'o', 'm', 's', 0x80),
        T("flags an array", RDE_E_SHAPE, 0x93, 0xa1, 'u', 0x82, 0xa4, 't', 'y',
          'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'e', 0x81, 0xa5,
          'f', 'l', 'a', 'g', 's', 0x90),
        T("reserved byte", RDE_E_MSGPACK, 0x93, 0xa1, 'u', 0xc1, 0x80),
#undef T
    };
    struct rde_bcast b;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        enum rde_status st = dec(t[i].p, t[i].n, &b);
        ck_assert_msg(st == t[i].st, "%s: %s", t[i].what, rde_status_str(st));
    }
    ck_assert_int_eq(dec("", 0, &b), RDE_E_MSGPACK);
    ck_assert_int_eq(dec(NULL, 0, &b), RDE_E_MSGPACK);
}
END_TEST

START_TEST(rde_values_convert_like_node)
{
    struct mp m;
    struct rde_bcast b;

    /* float32 goes through a double, as in notepack */
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_float(&m.pk, 0.1f)), RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",0.10000000149011612]");
    /* uint64 beyond 2^53 is rounded to a double, then printed by JS rules */
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_uint64(&m.pk, UINT64_MAX)),
                     RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",18446744073709552000]");
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_int64(&m.pk, INT64_MIN)),
                     RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",-9223372036854776000]");
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_double(&m.pk, 1e21)), RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",1e+21]");
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_double(&m.pk, 123456.789e3)),
                     RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",123456789]");
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_double(&m.pk, -0.000001)),
                     RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",-0.000001]");
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_double(&m.pk, 5e-324)),
                     RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",5e-324]");
    ck_assert_int_eq(ONE_ARG(&m, &b, msgpack_pack_double(&m.pk, -0.0)), RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",0]");
    /* a power of two whose nearest 16-digit decimal does not read back,
     * but the one above it does (JavaScript prints that one) */
    ck_assert_int_eq(
        ONE_ARG(&m, &b, msgpack_pack_double(&m.pk, ldexp(1, -957))), RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",8.209073602596753e-289]");
    /* control bytes and DEL, escaped as JSON.stringify does */
    ck_assert_int_eq(
        ONE_ARG(&m, &b, msgpack_pack_str_with_body(&m.pk, "\b\f\x1f\x7f", 4)),
        RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",\"\\b\\f\\u001f\x7f\"]");
    /* timestamp 96 beyond Date's range: Invalid Date, JSON null */
    ck_assert_int_eq(ONE_ARG(&m, &b,
                             msgpack_pack_ext_with_body(
                                 &m.pk, "\0\0\0\0\x7f\0\0\0\0\0\0\0", 12, -1)),
                     RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",null]");
    /* the largest Date */
    ck_assert_int_eq(
        ONE_ARG(&m, &b,
                msgpack_pack_ext_with_body(
                    &m.pk, "\0\0\0\0\0\0\x07\xdb\xa8\x21\x80\0", 12, -1)),
        RDE_OK);
    ck_assert_str_eq(jbuf, "[\"e\",\"+275760-09-13T00:00:00.000Z\"]");
}
END_TEST

START_TEST(rde_literal_placeholder_refused_only_beside_binary)
{
    struct mp m;
    struct rde_bcast b;
    msgpack_packer *pk;

    /* {"_placeholder": true, "num": 0} alone is plain data */
    ck_assert_int_eq(
        ONE_ARG(&m, &b,
                (msgpack_pack_map(&m.pk, 2), pk_str(&m.pk, "_placeholder"),
                 msgpack_pack_true(&m.pk), pk_str(&m.pk, "num"),
                 msgpack_pack_int(&m.pk, 0))),
        RDE_OK);
    ck_assert_uint_eq(b.nattach, 0);
    /* next to a real attachment the client could not tell them apart */
    pk = mp_init(&m);
    pk_head(pk, 2, "e", 2);
    msgpack_pack_bin_with_body(pk, "z", 1);
    msgpack_pack_map(pk, 1);
    pk_str(pk, "_placeholder");
    msgpack_pack_true(pk);
    ck_assert_int_eq(mp_dec(&m, &b), RDE_E_VALUE);
}
END_TEST

START_TEST(rde_truncated_or_padded_messages_fail_cleanly)
{
    struct rde_bcast b;
    unsigned char buf[1024];

    for (size_t i = 0; i < NVECS; i++) {
        const struct vec *v = &vecs[i];
        for (size_t n = 0; n < v->n; n++)
            ck_assert_msg(dec(v->p, n, &b) == RDE_E_MSGPACK, "%s at %zu",
                          v->name, n);
        ck_assert_uint_lt(v->n, sizeof(buf));
        memcpy(buf, v->p, v->n);
        buf[v->n] = 0xc0;
        ck_assert_int_eq(dec(buf, v->n + 1, &b), RDE_E_MSGPACK);
    }
}
END_TEST

START_TEST(rde_huge_counts_are_refused_before_any_allocation)
{
    /* headers that promise 4 G elements or bytes in a few bytes: msgpack-c
     * alone would try to allocate them up front */
    static const unsigned char arr[] = {0x93, 0xa1, 'u',  0xdd, 0xff,
                                        0xff, 0xff, 0xff, 0xc0};
    static const unsigned char map[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char str[] = {0x93, 0xdb, 0xff, 0xff, 0xff, 0xf0};
    static const unsigned char ext[] = {0xc9, 0x7f, 0xff, 0xff, 0xff, 0x00};
    struct rde_bcast b;

    ck_assert_int_eq(dec(arr, sizeof(arr), &b), RDE_E_MSGPACK);
    ck_assert_int_eq(dec(map, sizeof(map), &b), RDE_E_MSGPACK);
    ck_assert_int_eq(dec(str, sizeof(str), &b), RDE_E_MSGPACK);
    ck_assert_int_eq(dec(ext, sizeof(ext), &b), RDE_E_MSGPACK);
}
END_TEST

START_TEST(rde_depth_limit_counts_the_envelope)
{
    struct mp m;
    struct rde_bcast b;
    msgpack_packer *pk;

    /* envelope, packet and data are 3 levels: RDE_DEPTH_MAX - 3 more fit */
    for (int extra = 0; extra <= 1; extra++) {
        pk = mp_init(&m);
        pk_head(pk, 2, "e", 1);
        for (int d = 0; d < RDE_DEPTH_MAX - 3 + extra; d++)
            msgpack_pack_array(pk, d < RDE_DEPTH_MAX - 4 + extra ? 1 : 0);
        ck_assert_int_eq(mp_dec(&m, &b), extra ? RDE_E_DEPTH : RDE_OK);
        if (!extra) /* ["e",[[...]]] */
            ck_assert_uint_eq(b.json_len, 5 + 2 * (RDE_DEPTH_MAX - 3) + 1);
    }
}
END_TEST

START_TEST(rde_size_node_room_and_attachment_limits)
{
    struct mp m;
    struct rde_bcast b;
    msgpack_packer *pk;
    unsigned char *big;
    char *json;
    size_t cap;

    big = calloc(1, RDE_MSG_MAX + 1);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(
        rde_broadcast(big, RDE_MSG_MAX + 1, jbuf, sizeof(jbuf), &b),
        RDE_E_SIZE);
    free(big);

    /* RDE_NODES_MAX values in all: 10 besides the array's elements (8 in
     * pk_head, the array, the opts map) */
    cap = RDE_JSON_CAP(RDE_NODES_MAX + 64);
    json = malloc(cap);
    ck_assert_ptr_nonnull(json);
    for (int extra = 0; extra <= 1; extra++) {
        pk = mp_init(&m);
        pk_head(pk, 2, "e", 1);
        msgpack_pack_array(pk, RDE_NODES_MAX - 10 + extra);
        for (size_t i = 0; i < RDE_NODES_MAX - 10 + extra; i++)
            msgpack_pack_nil(pk);
        msgpack_pack_map(pk, 0);
        ck_assert_int_eq(
            rde_broadcast((unsigned char *)m.sb.data, m.sb.size, json, cap, &b),
            extra ? RDE_E_SIZE : RDE_OK);
        msgpack_sbuffer_destroy(&m.sb);
    }
    free(json);

    /* RDE_ROOMS_MAX rooms, then one more */
    for (int extra = 0; extra <= 1; extra++) {
        pk = mp_init(&m);
        pk_head(pk, 2, "e", 0);
        msgpack_pack_map(pk, 1);
        pk_str(pk, "rooms");
        msgpack_pack_array(pk, RDE_ROOMS_MAX + extra);
        for (int i = 0; i < RDE_ROOMS_MAX + extra; i++)
            pk_str(pk, "r");
        ck_assert_int_eq(dec(m.sb.data, m.sb.size, &b),
                         extra ? RDE_E_SIZE : RDE_OK);
        msgpack_sbuffer_destroy(&m.sb);
    }

    /* RDE_ATTACH_MAX binary values, then one more */
    for (int extra = 0; extra <= 1; extra++) {
        pk = mp_init(&m);
        pk_head(pk, 2, "e", RDE_ATTACH_MAX + extra);
        for (int i = 0; i < RDE_ATTACH_MAX + extra; i++)
            msgpack_pack_bin_with_body(pk, "b", 1);
        ck_assert_int_eq(mp_dec(&m, &b), extra ? RDE_E_ATTACH : RDE_OK);
        if (!extra)
            ck_assert(strstr(jbuf, "{\"_placeholder\":true,\"num\":255}]"));
    }
}
END_TEST

START_TEST(rde_json_buffer_too_small_is_reported)
{
    struct mp m;
    struct rde_bcast b;
    char small[64];
    size_t need;

    ck_assert_int_eq(dec(E_ROOM, sizeof(E_ROOM), &b), RDE_OK);
    need = b.json_len + 1;
    ck_assert_int_eq(rde_broadcast(E_ROOM, sizeof(E_ROOM), small, need - 1, &b),
                     RDE_E_SPACE);
    ck_assert_int_eq(rde_broadcast(E_ROOM, sizeof(E_ROOM), small, need, &b),
                     RDE_OK);
    ck_assert_str_eq(small, vecs[1].json);
    ck_assert_int_eq(rde_broadcast(E_ROOM, sizeof(E_ROOM), NULL, 0, &b),
                     RDE_E_SPACE);
    /* an error after the buffer is full still wins over RDE_E_SPACE */
    pk_head(mp_init(&m), 2, "e", 2);
    pk_str(&m.pk, "a string longer than the four bytes of room");
    msgpack_pack_str_with_body(&m.pk, "\xff", 1);
    msgpack_pack_map(&m.pk, 0);
    ck_assert_int_eq(
        rde_broadcast((unsigned char *)m.sb.data, m.sb.size, small, 4, &b),
        RDE_E_UTF8);
    msgpack_sbuffer_destroy(&m.sb);
}
END_TEST

START_TEST(rde_emitter_and_adapter_requests_decode)
{
    struct rde_req r;

#define REQ(s) rde_request((const unsigned char *)(s), strlen(s), &r)
    ck_assert_int_eq(REQ(R_JOIN), RDE_OK);
    ck_assert_int_eq(r.type, RDE_REQ_REMOTE_JOIN);
    ck_assert_uint_eq(r.uid.n, 0);
    ck_assert_uint_eq(r.nrooms, 1);
    ck_assert(STREQ(r.rooms[0], "a"));
    ck_assert_uint_eq(r.nexcept, 1);
    ck_assert(STREQ(r.except[0], "b"));
    ck_assert_uint_eq(r.ntarget, 2);
    ck_assert(STREQ(r.target[1], "d"));
    rde_req_clear(&r);
    ck_assert_ptr_null(r.json);

    ck_assert_int_eq(REQ(R_LEAVE), RDE_OK);
    ck_assert_int_eq(r.type, RDE_REQ_REMOTE_LEAVE);
    ck_assert_uint_eq(r.nrooms + r.nexcept, 0);
    ck_assert_uint_eq(r.ntarget, 1);
    rde_req_clear(&r);

    ck_assert_int_eq(REQ(R_DISCONNECT_CLOSE), RDE_OK);
    ck_assert_int_eq(r.type, RDE_REQ_REMOTE_DISCONNECT);
    ck_assert_int_eq(r.close, 1);
    ck_assert(STREQ(r.rooms[0], "x"));
    rde_req_clear(&r);
    ck_assert_int_eq(REQ(R_DISCONNECT), RDE_OK);
    ck_assert_int_eq(r.close, 0);
    ck_assert_uint_eq(r.nrooms, 0);
    rde_req_clear(&r);

    ck_assert_int_eq(REQ(A_JOIN), RDE_OK);
    ck_assert(STREQ(r.uid, "Ab3dE6"));
    ck_assert(STREQ(r.target[0], "b"));
    rde_req_clear(&r);
    ck_assert_int_eq(REQ(A_LEAVE), RDE_OK);
    ck_assert(STREQ(r.except[0], "x"));
    ck_assert_uint_eq(r.ntarget, 2);
    rde_req_clear(&r);
    ck_assert_int_eq(REQ(A_DISCONNECT), RDE_OK);
    ck_assert_uint_eq(r.request_id.n, 0);
    rde_req_clear(&r);
    rde_req_clear(&r);
    rde_req_clear(NULL);
}
END_TEST

START_TEST(rde_server_side_emit_is_ignored_and_the_rest_refused)
{
    struct rde_req r;

    ck_assert_int_eq(REQ(R_SSE), RDE_IGNORED);
    ck_assert_int_eq(r.type, RDE_REQ_SERVER_SIDE_EMIT);
    ck_assert(STREQ(r.uid, "emitter"));
    rde_req_clear(&r);
    ck_assert_int_eq(REQ(A_SSE), RDE_IGNORED);
    ck_assert(STREQ(r.uid, "Ab3dE6"));
    rde_req_clear(&r);

    ck_assert_int_eq(REQ(A_FETCH), RDE_E_REQTYPE);
    ck_assert_int_eq(r.type, RDE_REQ_REMOTE_FETCH);
    ck_assert_ptr_null(r.json);
    ck_assert_int_eq(REQ(A_ALLROOMS), RDE_E_REQTYPE);
    ck_assert_int_eq(r.type, RDE_REQ_ALL_ROOMS);
    ck_assert_int_eq(rde_request(A_BCAST_ACK, sizeof(A_BCAST_ACK), &r),
                     RDE_E_ACK);
    ck_assert_int_eq(r.type, RDE_REQ_BROADCAST);
    /* the per-socket form of an old adapter expects a reply */
    ck_assert_int_eq(REQ("{\"uid\":\"x\",\"requestId\":\"r\",\"type\":2,"
                         "\"sid\":\"s\",\"room\":\"a\"}"),
                     RDE_E_REQTYPE);
    ck_assert_int_eq(r.type, 2);
    ck_assert_int_eq(REQ("{\"type\":42}"), RDE_E_REQTYPE);
    ck_assert_int_eq(r.type, 42);
}
END_TEST

START_TEST(rde_malformed_requests_are_refused)
{
    static const struct {
        const char *s;
        enum rde_status st;
    } t[] = {
        {"{\"type\":", RDE_E_JSON},
        {"{\"type\":2} x", RDE_E_JSON},
        {"{\"a\":\"\xff\"}", RDE_E_JSON},
        {"{}", RDE_E_SHAPE},
        {"{\"type\":\"2\"}", RDE_E_SHAPE},
        {"{\"type\":2.0}", RDE_E_SHAPE},
        {"{\"type\":2,\"opts\":{},\"rooms\":\"c\"}", RDE_E_SHAPE},
        {"{\"type\":2,\"opts\":{\"rooms\":\"a\"},\"rooms\":[]}", RDE_E_SHAPE},
        {"{\"type\":2,\"opts\":{},\"rooms\":[1]}", RDE_E_ROOM},
        {"{\"type\":2,\"opts\":{\"except\":[\"a b\"]},\"rooms\":[]}",
         RDE_E_ROOM},
        {"{\"type\":3,\"opts\":{},\"rooms\":[\"\\u0000\"]}", RDE_E_ROOM},
        {"{\"type\":4,\"opts\":{},\"close\":1}", RDE_E_SHAPE},
        {"{\"type\":4,\"opts\":7}", RDE_E_SHAPE},
        {"{\"type\":4,\"opts\":{}}", RDE_OK},
        {"[1]", RDE_E_MSGPACK}, /* msgpack: fixint 0x5b, trailing bytes */
        {"\x91\x01", RDE_E_SHAPE},
        {"\x81\xa4type\x02", RDE_E_REQTYPE},
        {"\x81\xa4type\xc0", RDE_E_SHAPE},
        {"\x81\xa4type", RDE_E_MSGPACK},
        {"", RDE_E_MSGPACK},
    };
    struct rde_req r;
    char *big;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        enum rde_status st = REQ(t[i].s);
        ck_assert_msg(st == t[i].st, "%s: %s", t[i].s, rde_status_str(st));
        rde_req_clear(&r);
    }
    big = malloc(RDE_REQ_MAX + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', RDE_REQ_MAX + 1);
    big[0] = '{';
    big[RDE_REQ_MAX + 1] = '\0';
    ck_assert_int_eq(REQ(big), RDE_E_SIZE);
    free(big);
#undef REQ
}
END_TEST

START_TEST(rde_request_room_lists_are_bounded)
{
    char buf[1024], *o = buf;
    struct rde_req r;

    o += sprintf(o, "{\"type\":2,\"opts\":{},\"rooms\":[");
    for (int i = 0; i <= RDE_ROOMS_MAX; i++)
        o += sprintf(o, "%s\"r\"", i ? "," : "");
    strcpy(o, "]}");
    ck_assert_int_eq(rde_request((unsigned char *)buf, strlen(buf), &r),
                     RDE_E_SIZE);
    ck_assert_ptr_null(r.json);
    o[-4] = ']'; /* drop the last room: ...,"r"]} */
    o[-3] = '}';
    o[-2] = '\0';
    ck_assert_int_eq(rde_request((unsigned char *)buf, strlen(buf), &r),
                     RDE_OK);
    ck_assert_uint_eq(r.ntarget, RDE_ROOMS_MAX);
    rde_req_clear(&r);
}
END_TEST

START_TEST(rde_every_status_has_a_name)
{
    for (int st = RDE_OK; st <= RDE_E_NOMEM; st++) {
        ck_assert_str_ne(rde_status_str(st), "unknown status");
        for (int o = RDE_OK; o < st; o++)
            ck_assert_str_ne(rde_status_str(st), rde_status_str(o));
    }
    ck_assert_str_eq(rde_status_str(RDE_E_NOMEM + 1), "unknown status");
}
END_TEST

static Suite *
rde_suite(void)
{
    Suite *s = suite_create("rde");
    TCase *tc;

    tc = tcase_create("channel");
    tcase_add_test(tc, rde_channel_names_namespace_and_single_room);
    tcase_add_test(tc, rde_channel_rejects_foreign_and_malformed_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("broadcast");
    tcase_add_test(tc, rde_recorded_broadcasts_give_what_node_sends);
    tcase_add_test(tc, rde_emitter_opts_rooms_flags_except_in_its_order);
    tcase_add_test(tc, rde_adapter_opts_rooms_except_flags_in_its_order);
    tcase_add_test(tc,
                   rde_empty_rooms_mean_everyone_and_compress_true_is_default);
    tcase_add_test(tc, rde_binary_args_become_placeholders_and_attachments);
    tcase_add_test(tc, rde_notepack2_undefined_arraybuffer_and_date_are_read);
    tcase_add_test(tc, rde_packet_fields_by_name_with_defaults);
    tcase_add_test(tc, rde_refuses_what_wsgate_cannot_send);
    tcase_add_test(tc, rde_refuses_bad_envelopes_rooms_and_namespaces);
    tcase_add_test(tc, rde_values_convert_like_node);
    tcase_add_test(tc, rde_literal_placeholder_refused_only_beside_binary);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, rde_truncated_or_padded_messages_fail_cleanly);
    tcase_add_test(tc, rde_huge_counts_are_refused_before_any_allocation);
    tcase_add_test(tc, rde_depth_limit_counts_the_envelope);
    tcase_add_test(tc, rde_size_node_room_and_attachment_limits);
    tcase_add_test(tc, rde_json_buffer_too_small_is_reported);
    suite_add_tcase(s, tc);

    tc = tcase_create("request");
    tcase_add_test(tc, rde_emitter_and_adapter_requests_decode);
    tcase_add_test(tc, rde_server_side_emit_is_ignored_and_the_rest_refused);
    tcase_add_test(tc, rde_malformed_requests_are_refused);
    tcase_add_test(tc, rde_request_room_lists_are_bounded);
    tcase_add_test(tc, rde_every_status_has_a_name);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rde_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

// clang-format off
/*
 * How the vectors were made (once, in a scratch directory outside the
 * repository; Node 20):
 *
 *   mkdir /tmp/rde-gen && cd /tmp/rde-gen && npm init -y && mkdir out
 *   npm install notepack.io@3 @socket.io/redis-emitter@5.1 \
 *       @socket.io/redis-adapter@8.3 notepack.io2@npm:notepack.io@2
 *   node gen.js         # out/<name>.bin = the corpus; prints channel, hex
 *   node expect.js e_all e_room ...   # the expected column of vecs[]
 *
 * gen.js:
 *
 * // Records what @socket.io/redis-emitter 5.1.0 and @socket.io/redis-adapter
 * // 8.3.0 (both on notepack.io 3.0.1) publish, through fake Redis clients.
 * const fs = require("fs");
 * // uid2(6) makes the adapter uid and requestIds random: pin them.
 * let uidn = 0;
 * require.cache[require.resolve("uid2")] = {
 *   exports: (n) => ("rq" + uidn++ + "xxxx").slice(0, n),
 * };
 * const { Emitter } = require("@socket.io/redis-emitter");
 * const { RedisAdapter } = require("@socket.io/redis-adapter");
 * const { Encoder } = require("socket.io-parser");
 * const notepack2 = require("notepack.io2");
 *
 * const out = [];
 * let cur = null;
 * const client = {
 *   publish(ch, msg) { out.push({ name: cur, ch, msg: Buffer.from(msg) }); },
 *   psubscribe() {}, subscribe() {}, on() {},
 *   send_command(cmd, args, cb) { cb(null, [args[1], 3]); },
 * };
 * function rec(name, fn) { cur = name; fn(); }
 * const S = (...a) => new Set(a);
 *
 * const e = new Emitter(client);
 * rec("e_all", () => e.emit("hello", "world"));
 * rec("e_room", () =>
 *   e.to("lead:42").emit("lead.updated", { id: 42, name: "Zo\u00eb" }));
 * rec("e_nsp_rooms_flags_except", () =>
 *   e.of("/admin").to(["a", "b"]).except("c").volatile.compress(false)
 *     .emit("tick", 1, 2.5, -3, null, true));
 * rec("e_binary", () => e.emit("file", Buffer.from([1, 2, 3]),
 *   { nested: { buf: Buffer.from("xyz"), list: [Buffer.alloc(0)] } },
 *   "tail"));
 * rec("e_types", () => e.emit("types", {
 *   a: [1, [2, [3, { b: null }]]], big: 2 ** 53 - 1, neg: -(2 ** 40),
 *   u32: 4294967295, i8: -100, f: 0.1, f2: -1.25e-300, huge: 1e300,
 *   tiny: 1.5e-7, e21: 1.5e21,
 *   utf: "h\u00e9llo \u4e16\u754c \ud83c\udf89",
 *   esc: "quote\" back\\ nl\n tab\t ctl\u0001", undef: undefined,
 *   date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
 *   inf: Infinity, nan: NaN }, [undefined, -0]));
 * rec("e_noargs", () => e.emit("ping"));
 * rec("e_key_nsp_hash_room", () => new Emitter(client, { key: "myapp" })
 *   .of("chat").to("room#1").emit("m", "x"));
 * rec("e_large", () => e.emit("big", "x".repeat(300),
 *   Array.from({ length: 20 }, (_, i) => i * 1000),
 *   Object.fromEntries(Array.from({ length: 17 }, (_, i) => ["k" + i, i]))));
 * rec("e_dates", () => e.emit("dates", new Date(-1500),
 *   new Date(Date.UTC(2200, 0, 1, 0, 0, 0, 1)), new Date(0),
 *   new Date(Date.UTC(-10, 5, 6))));
 * rec("e_typed", () => e.emit("typed", new Uint8Array([9, 8]).buffer,
 *   new Uint16Array([0x102])));
 * rec("e_compress_true", () => e.compress(true).to("r").emit("c", 0));
 * rec("r_join", () => e.to("a").except("b").socketsJoin(["c", "d"]));
 * rec("r_leave", () => e.socketsLeave("c"));
 * rec("r_disconnect_close", () => e.in("x").disconnectSockets(true));
 * rec("r_disconnect", () => e.disconnectSockets());
 * rec("r_sse", () => e.serverSideEmit("hello", { a: 1 }));
 *
 * const e2 = new Emitter(client, { parser: notepack2 });
 * rec("n2_undef_ab_date", () => e2.emit("old", undefined,
 *   new Uint8Array([7, 7, 7]).buffer, new Date(Date.UTC(2020, 1, 29, 12))));
 * rec("n2_undef_in_map", () =>
 *   e2.to("r").emit("old", { gone: undefined, kept: 1 }));
 *
 * const nsp = { name: "/", server: { encoder: new Encoder() },
 *   sockets: new Map() };
 * const a = new RedisAdapter(nsp, client, client, {});
 * a.uid = "Ab3dE6";
 * rec("a_bcast", () => a.broadcast({ type: 2, data: ["ev", 1] },
 *   { rooms: S("r1"), except: S("sid123"), flags: { volatile: true } }));
 * rec("a_bcast_noflags", () => a.broadcast(
 *   { type: 2, data: ["ev", { x: [] }] }, { rooms: S(), except: S() }));
 * rec("a_bcast_binary", () => a.broadcast(
 *   { type: 2, data: ["bin", Buffer.from([0xff])] },
 *   { rooms: S("r1", "r2"), except: S(), flags: {} }));
 * rec("a_join", () => a.addSockets({ rooms: S("a"), except: S() }, ["b"]));
 * rec("a_leave", () =>
 *   a.delSockets({ rooms: S(), except: S("x") }, ["b", "c"]));
 * rec("a_disconnect", () =>
 *   a.disconnectSockets({ rooms: S("a"), except: S() }, false));
 * rec("a_sse", () => a.serverSideEmit(["x", 1]));
 * rec("a_bcast_ack", () => a.broadcastWithAck({ type: 2, data: ["q", 1] },
 *   { rooms: S(), except: S(), flags: { timeout: 5000 } }, () => {},
 *   () => {}));
 *
 * (async () => {
 *   cur = "a_fetch";
 *   a.fetchSockets({ rooms: S("a"), except: S() }).catch(() => {});
 *   await new Promise((r) => setTimeout(r, 20));
 *   cur = "a_allrooms";
 *   a.allRooms().catch(() => {});
 *   await new Promise((r) => setTimeout(r, 20));
 *   for (const o of out) {
 *     fs.writeFileSync(`out/${o.name}.bin`, o.msg);
 *     console.log(o.name, JSON.stringify(o.ch), o.msg.toString("hex"));
 *   }
 *   process.exit(0);
 * })();
 *
 * expect.js:
 *
 * // What a Node receiver (redis-adapter 8.3 onmessage, then socket.io-parser
 * // 4's Encoder) puts on the Socket.IO wire for each recorded broadcast:
 * // name, payload JSON, attachments in hex.
 * const fs = require("fs");
 * const decode = require("notepack.io").decode;
 * const { Encoder } = require("socket.io-parser");
 * for (const name of process.argv.slice(2)) {
 *   const [, packet] = decode(fs.readFileSync(`out/${name}.bin`));
 *   if (packet.nsp === undefined) packet.nsp = "/";
 *   const [text, ...bins] = new Encoder().encode(packet);
 *   console.log(name, text.slice(text.indexOf("[")),
 *     bins.map((b) => Buffer.from(b).toString("hex")).join(","));
 * }
 */
// clang-format on
