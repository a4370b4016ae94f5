// Package msgpack converts between MessagePack and the raw JSON of socket.io
// packets, byte for byte as the npm package notepack.io 3.0.1 writes and
// reads MessagePack. notepack.io is the codec of @socket.io/redis-adapter 8.3
// (broadcasts and acknowledged requests) and of socket.io-msgpack-parser;
// the Redis Streams adapter uses @msgpack/msgpack 2.8, whose forms (float
// 32, timestamp extensions) are read too.
//
// Packets keep their arguments as JSON text with binary attachments referred
// to by placeholders {"_placeholder":true,"num":N} (see parser.Packet).
// [FromJSON] turns such a JSON value into the MessagePack a Node.js server
// publishes for it, attachments in place as bin; [ToJSON] turns MessagePack
// into the JSON text (and attachments) the official server would send its
// clients after decoding it. Neither builds Go values. The writers
// (AppendString, AppendInt, ...) build envelopes with notepack.io's choice
// of forms, and [Decode], [Skip], [MapEntries] and [ArrayItems] read them.
//
// The package is pure: no goroutines, no package state, the standard
// library and package parser only.
//
// # Compatibility
//
// Tested byte for byte (TestDifferential, with testdata/differential.js)
// against notepack.io 3.0.1, @msgpack/msgpack 2.8.0 and socket.io-parser
// 4.2.7, the versions socket.io 4.8.4, @socket.io/redis-adapter 8.3.0 and
// @socket.io/redis-streams-adapter 0.3 install.
//
// JavaScript semantics that are kept:
//   - Numbers are JavaScript numbers: an integral value is written in the
//     shortest integer form (uint 64 from 2^32, int 64 below -2^31), other
//     values as float 64; -0 is 0; NaN and ±Infinity are float 64 in
//     MessagePack and null in JSON. Integers read from MessagePack become
//     the nearest double before they are written as JSON.
//   - Object properties are in JavaScript's order: array indexes ("0" to
//     "4294967294") first in numeric order, then the other keys in the
//     order they came; a repeated key keeps its first place and takes its
//     last value. A "__proto__" key is an ordinary key in JSON (JSON.parse
//     makes it one) and is left out of the JSON of a MessagePack map (where
//     notepack.io's assignment sets the prototype instead).
//   - Strings: invalid UTF-8 is replaced by U+FFFD, one per maximal
//     ill-formed subsequence, as Node.js's Buffer.toString does; JSON
//     strings are escaped as JSON.stringify escapes them.
//   - notepack.io's extensions: undefined (fixext 1 of type 0), its former
//     Date (fixext 8 of type 0), ArrayBuffer (ext 8/16/32 of type 0), and
//     the timestamp extension -1 as Date, written as Date.prototype.toJSON
//     writes it; other extensions are [type, data] as notepack.io returns
//     them.
//
// Deliberate differences, each where notepack.io loses or garbles data:
//   - Integral numbers of 2^64 or more in magnitude, or below -2^63, are
//     written as float 64 (notepack.io writes them modulo 2^64: 1e21 as
//     3875820019684212736, 1e300 as 0). Integer literals in JSON beyond 2^53
//     that fit int64 or uint64 are written exactly (JSON.parse rounds them).
//   - An escaped unpaired surrogate in JSON ("\ud800") is U+FFFD (notepack.io
//     merges it with the next UTF-16 unit in strings of up to 32 units).
//   - A MessagePack map key that is not a string or a number is an error
//     (notepack.io converts it with String(key), "[object Object]" and the
//     like); a timestamp extension whose data is not 4, 8 or 12 bytes long
//     is an error (notepack.io misreads an ext 8 of type -1 of another
//     length); a timestamp in ext 16 or 32 is a Date (notepack.io returns
//     [-1, data]).
//   - "__proto__" keys whose value is a Date or binary are left out like
//     the others (socket.io-parser throws on them).
//
// # Limits
//
// The input is untrusted: no input makes a function panic; arrays and maps
// are nested at most [MaxDepth] levels; every length and count in a header
// is checked against the input left before anything is allocated, so a
// header claiming 4 GiB fails at once with [ErrTruncated], and the memory
// used is proportional to the input. [FromJSON] copies at most the total
// size of the attachments from them, however many placeholders repeat one.
// Errors wrap the sentinels ErrTruncated, ErrTooDeep, ErrInvalid,
// ErrMapKey, ErrType, ErrBinary, ErrInvalidJSON and ErrTooLarge; test for
// them with errors.Is.
package msgpack
