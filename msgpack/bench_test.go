package msgpack

import "testing"

var (
	benchJSON       = []byte(`["bcast",{"tag":"pubsub-span-0123456789","n":123}]`)
	benchBinaryJSON = []byte(`["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]`)
	benchAttachment = make([]byte, 64<<10)
)

func BenchmarkFromJSON(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchJSON)))
	for b.Loop() {
		var err error
		if buf, err = FromJSON(buf[:0], benchJSON, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromJSONAttachment64K(b *testing.B) {
	buf := make([]byte, 0, 70<<10)
	atts := [][]byte{benchAttachment}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBinaryJSON) + len(benchAttachment)))
	for b.Loop() {
		var err error
		if buf, err = FromJSON(buf[:0], benchBinaryJSON, atts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToJSON(b *testing.B) {
	msg, _ := FromJSON(nil, benchJSON, nil)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var err error
		if buf, _, err = ToJSON(buf[:0], msg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToJSONAttachment64K(b *testing.B) {
	msg, _ := FromJSON(nil, benchBinaryJSON, [][]byte{benchAttachment})
	buf := make([]byte, 0, 256)
	atts := make([][]byte, 0, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var err error
		if buf, _, err = ToJSON(buf[:0], msg, &atts); err != nil {
			b.Fatal(err)
		}
		atts = atts[:0]
	}
}

// BenchmarkDecodeEnvelope reads a broadcast's envelope as a receiving
// node does: uid and opts decoded, the packet's data converted.
func BenchmarkDecodeEnvelope(b *testing.B) {
	msg := AppendArrayHeader(nil, 3)
	msg = AppendString(msg, "mkGbCM")
	msg = AppendMapHeader(msg, 3)
	msg = AppendInt(AppendString(msg, "type"), 2)
	msg, _ = FromJSON(AppendString(msg, "data"), benchJSON, nil)
	msg = AppendString(AppendString(msg, "nsp"), "/")
	msg, _ = FromJSON(msg, []byte(`{"rooms":["span"],"except":[],"flags":{}}`), nil)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		i := 0
		_, err := ArrayItems(msg, func(item []byte) error {
			defer func() { i++ }()
			if i == 1 {
				_, err := MapEntries(item, func(key string, value []byte) error {
					if key == "data" {
						var err error
						buf, _, err = ToJSON(buf[:0], value, nil)
						return err
					}
					return nil
				})
				return err
			}
			_, _, err := Decode(item)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
