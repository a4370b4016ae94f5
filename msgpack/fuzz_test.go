package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/metrics"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// jsonSeeds are the seed corpus of FuzzFromJSON, also run by
// TestDifferential.
func jsonSeeds() []string {
	var seeds []string
	for _, c := range fromJSONCases() {
		if len(c.json) <= 4096 {
			seeds = append(seeds, c.json)
		}
	}
	return append(seeds,
		`["bcast",{"tag":"pubsub-span-x","n":123},{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]`,
		`{"_placeholder":true,"num":0,"_placeholder":false}`, `{"num":-0,"_placeholder":true}`, `{"_placeholder":true,"num":1e0}`,
		`{"_placeholder":true,"num":0.5}`, `{"\u005fplaceholder":true,"\u006eum":0}`,
		`{"a":{"b":1,"0":2},"0":[{"x":1,"x":2}],"a":null}`, `{"__proto__":[],"constructor":1,"toJSON":2,"hasOwnProperty":3}`,
		`[0.1,0.2,0.30000000000000004,1e-7,1e-6,123e-20,1e21,1e20,-1e21,4.9e-324,2.2250738585072014e-308]`,
		`[9007199254740993,-9007199254740993,18446744073709551616,-9223372036854775809,100000000000000000000000]`,
		`"\ud83d\ude00\ud83d\u0041\ude00\ud83d"`, "\"\xed\xa0\x80\xc0\x80\xf4\x90\x80\x80\"", `"\u0000\u007f\u0080\u07ff\u0800\uffff"`,
		`{"4294967294":0,"4294967295":1,"42949672950":2,"0":3,"00":4,"-0":5,"1e1":6}`,
		`[[[[[[[[[[{"a":[{"b":[]}]}]]]]]]]]]]`, ` [ { } , [ ] , "" , 0 , -0.0e+0 ] `,
	)
}

// msgSeeds are the seed corpus of FuzzToJSON and FuzzDecode, also run by
// TestDifferential.
func msgSeeds() [][]byte {
	var seeds [][]byte
	for _, c := range toJSONCases() {
		if len(c.msg) <= 4096 {
			seeds = append(seeds, c.msg)
		}
	}
	for _, c := range writerCases() {
		if len(c.got) <= 4096 {
			seeds = append(seeds, c.got)
		}
	}
	return append(seeds,
		x(`93 a6 "mkGbCM" 83 a4 "type" 02 a4 "data" 92 a5 "bcast" c403010203 a3 "nsp" a1 "/" 83 a5 "rooms" 90 a6 "except" 90 a5 "flags" 81 a7 "timeout" cd07d0`),
		x(`84 a3 "uid" a6 "abcdef" a9 "requestId" a6 "ghijkl" a4 "type" 07 a6 "packet" 83 a4 "type" 02 a4 "data" 91 a3 "ask" a3 "nsp" a1 "/"`),
		x(`84 a1 "a" d40000 a1 "1" c40100 a9 "__proto__" d6ff00000001 a1 "a" 92 d70500000000000000ff c70cff000000000000000000000001`),
		x(`82 a1 ff 01 a2 c3 28 02`), x(`83 01 01 cb3ff0000000000000 02 ca3f800000 03`),
		x("dc 0003 cc01 cd0002 ce00000003"), x(`de 0002 d9 01 "a" c0 da 0001 "b" c2`),
	)
}

func FuzzFromJSON(f *testing.F) {
	for _, s := range jsonSeeds() {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, data, att []byte) {
		atts := [][]byte{att, {0xde, 0xad}}
		a0 := heapAllocs()
		out, err := FromJSON(nil, data, atts)
		if n := heapAllocs() - a0; n > uint64(8*len(data)+2*(len(att)+2))+1<<20 {
			t.Fatalf("FromJSON(%q) allocated %d bytes", data, n)
		}
		valid := json.Valid(data)
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("output %x with error %v", out, err)
			}
			if valid && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("FromJSON(%q): %v, but encoding/json accepts it", data, err)
			}
			return
		}
		if !valid {
			t.Fatalf("FromJSON(%q) = %x, but encoding/json rejects it", data, out)
		}
		if max := 3*len(data) + len(att) + 2 + 5; len(out) > max {
			t.Fatalf("FromJSON(%q): %d bytes, more than %d", data, len(out), max)
		}
		var got [][]byte
		js, rest, err := ToJSON(nil, out, &got)
		if err != nil || len(rest) != 0 {
			t.Fatalf("ToJSON(FromJSON(%q) = %x): %v, rest %x", data, out, err, rest)
		}
		// The value encoding/json reads, where it reads as JavaScript
		// (not invalid UTF-8) and where FromJSON keeps the value
		// (not placeholders, not "__proto__").
		var v1, v2 any
		if utf8.Valid(data) && !hasPlaceholderKey(data) && json.Unmarshal(data, &v1) == nil && json.Unmarshal(js, &v2) == nil && !reflect.DeepEqual(v1, v2) {
			t.Fatalf("%q became %s", data, js)
		}
		checkRoundTrip(t, js, got)
	})
}

func hasPlaceholderKey(data []byte) bool {
	return bytes.Contains(data, []byte("_placeholder")) || bytes.Contains(data, []byte(`\u`)) || bytes.Contains(data, []byte("__proto__"))
}

func FuzzToJSON(f *testing.F) {
	for _, s := range msgSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var atts [][]byte
		a0 := heapAllocs()
		js, rest, err := ToJSON(nil, msg, &atts)
		if n := heapAllocs() - a0; n > uint64(200*len(msg))+1<<20 {
			t.Fatalf("ToJSON(%x) allocated %d bytes", msg, n)
		}
		skipRest, skipErr := Skip(msg)
		if err != nil {
			if js != nil || rest != nil || len(atts) != 0 {
				t.Fatalf("output %q, rest %x, attachments %x with error %v", js, rest, atts, err)
			}
			if skipErr == nil && !errors.Is(err, ErrMapKey) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("ToJSON(%x): %v, but Skip accepts it", msg, err)
			}
			return
		}
		if skipErr != nil || !bytes.Equal(rest, skipRest) {
			t.Fatalf("ToJSON(%x) rest %x, Skip %x, %v", msg, rest, skipRest, skipErr)
		}
		if !json.Valid(js) {
			t.Fatalf("ToJSON(%x) = %q: invalid JSON", msg, js)
		}
		if max := 40 * len(msg); len(js) > max {
			t.Fatalf("ToJSON(%x): %d bytes, more than %d", msg, len(js), max)
		}
		for _, a := range atts {
			if len(a) > 0 && !within(a, msg) {
				t.Fatalf("attachment %x is not a sub-slice of the input", a)
			}
		}
		checkRoundTrip(t, js, atts)
	})
}

// within reports whether the non-empty a is a sub-slice of b.
func within(a, b []byte) bool {
	pa, pb := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa >= pb && pa+uintptr(len(a)) <= pb+uintptr(len(b))
}

func FuzzDecode(f *testing.F) {
	for _, s := range msgSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a0 := heapAllocs()
		v, rest, err := Decode(msg)
		if n := heapAllocs() - a0; n > uint64(200*len(msg))+1<<20 {
			t.Fatalf("Decode(%x) allocated %d bytes", msg, n)
		}
		skipRest, skipErr := Skip(msg)
		if err != nil {
			if v != nil || rest != nil {
				t.Fatalf("value %v, rest %x with error %v", v, rest, err)
			}
			if skipErr == nil && !errors.Is(err, ErrMapKey) {
				t.Fatalf("Decode(%x): %v, but Skip accepts it", msg, err)
			}
			// A bad key may come before what Skip stops at.
			if skipErr != nil && !sameSentinel(err, skipErr) && !errors.Is(err, ErrMapKey) {
				t.Fatalf("Decode(%x): %v, Skip: %v", msg, err, skipErr)
			}
			return
		}
		if skipErr != nil || !bytes.Equal(rest, skipRest) {
			t.Fatalf("Decode(%x) rest %x, Skip %x, %v", msg, rest, skipRest, skipErr)
		}
		// The walkers agree with Decode.
		switch v := v.(type) {
		case map[string]any:
			m := map[string]any{}
			r, err := MapEntries(msg, func(k string, b []byte) error {
				e, rest, err := Decode(b)
				if err != nil || len(rest) != 0 {
					return fmt.Errorf("entry %q: %v, rest %x", k, err, rest)
				}
				m[k] = e
				return nil
			})
			if err != nil || !bytes.Equal(r, rest) || !sameValue(m, v) {
				t.Fatalf("MapEntries(%x) = %v, rest %x, %v; Decode %v", msg, m, r, err, v)
			}
		case []any:
			var a []any
			r, err := ArrayItems(msg, func(b []byte) error {
				e, rest, err := Decode(b)
				if err != nil || len(rest) != 0 {
					return fmt.Errorf("item: %v, rest %x", err, rest)
				}
				a = append(a, e)
				return nil
			})
			if err != nil || !bytes.Equal(r, rest) || !sameValue(nonNilAny(a), v) {
				t.Fatalf("ArrayItems(%x) = %v, rest %x, %v; Decode %v", msg, a, r, err, v)
			}
		}
		// Written again with the writers, the value decodes the same.
		enc := encodeAny(nil, v)
		v2, rest2, err := Decode(enc)
		if err != nil || len(rest2) != 0 || !sameValue(v2, v) {
			t.Fatalf("Decode(%x) = %#v, re-encoded %x decodes to %#v, %v", msg, v, enc, v2, err)
		}
	})
}

// sameValue is reflect.DeepEqual with NaN equal to NaN.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || a != a && b != b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func nonNilAny(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

func sameSentinel(a, b error) bool {
	for _, e := range []error{ErrTruncated, ErrTooDeep, ErrInvalid, ErrMapKey} {
		if errors.Is(a, e) {
			return errors.Is(b, e)
		}
	}
	return false
}

// encodeAny writes a value Decode returned with the writers.
func encodeAny(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return AppendNil(dst)
	case bool:
		return AppendBool(dst, v)
	case int64:
		return AppendInt(dst, v)
	case uint64:
		return AppendUint(dst, v)
	case float64:
		return appendBE64(append(dst, 0xcb), math.Float64bits(v))
	case string:
		return AppendString(dst, v)
	case []byte:
		return AppendBinary(dst, v)
	case Ext:
		dst = append(dst, 0xc9, byte(len(v.Data)>>24), byte(len(v.Data)>>16), byte(len(v.Data)>>8), byte(len(v.Data)), byte(v.Type))
		return append(dst, v.Data...)
	case []any:
		dst = AppendArrayHeader(dst, len(v))
		for _, e := range v {
			dst = encodeAny(dst, e)
		}
		return dst
	case map[string]any:
		dst = AppendMapHeader(dst, len(v))
		for k, e := range v {
			dst = encodeAny(AppendString(dst, k), e)
		}
		return dst
	}
	panic(fmt.Sprintf("encodeAny: %T", v))
}

// heapAllocs returns the bytes allocated on the heap so far (counted per
// span, so small allocations show up in steps).
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
