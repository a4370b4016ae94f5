package parser

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// typeInfo is what AppendValue needs to know about a type, computed once.
type typeInfo struct {
	typ         reflect.Type
	marshals    bool // implements json.Marshaler or encoding.TextMarshaler
	ptrMarshals bool // only *typ does
	binary      bool // a value may hold a []byte (directly or in an interface)

	once   sync.Once
	fieldz []field // for structs, built on first use
}

var typeInfos sync.Map // reflect.Type -> *typeInfo

func typeInfoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{typ: t, marshals: marshals(t)}
	ti.ptrMarshals = !ti.marshals && t.Kind() != reflect.Pointer && marshals(reflect.PointerTo(t))
	ti.binary = mayHoldBinary(t, make(map[reflect.Type]bool))
	actual, _ := typeInfos.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

func marshals(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType)
}

// mayHoldBinary reports whether a value of type t can hold a []byte that
// AppendValue would turn into an attachment. Types encoded by their own
// marshaler cannot. visiting breaks the cycles of recursive types: a type
// being explored adds nothing its first exploration will not find.
func mayHoldBinary(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if t == bytesType {
		return true
	}
	if marshals(t) || visiting[t] {
		return false
	}
	visiting[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return mayHoldBinary(t.Elem(), visiting)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if (sf.IsExported() || sf.Anonymous) && sf.Tag.Get("json") != "-" &&
				mayHoldBinary(sf.Type, visiting) {
				return true
			}
		}
	}
	return false
}

// field is one JSON member of a struct type.
type field struct {
	name      string
	key       []byte // the JSON-encoded name followed by ':'
	index     []int  // path through embedded structs
	tagged    bool   // name comes from a json tag
	omitEmpty bool
	omitZero  bool
	quoted    bool // the ",string" option applies
	isZero    func(reflect.Value) bool
}

func (ti *typeInfo) fields() []field {
	ti.once.Do(func() { ti.fieldz = structFields(ti.typ) })
	return ti.fieldz
}

// structFields lists the JSON members of struct type t following the
// encoding/json rules: exported fields, json tag names and options, and the
// fields of embedded structs promoted breadth first; when several fields
// claim a name, the shallowest wins, then the tagged one, and if that leaves
// a tie the name is dropped. Members are in field order.
func structFields(t reflect.Type) []field {
	type embedded struct {
		typ   reflect.Type
		index []int
	}
	var all []field
	done := map[reflect.Type]bool{}
	level := []embedded{{typ: t}}
	for len(level) > 0 {
		var next []embedded
		for _, e := range level {
			done[e.typ] = true
		}
		for _, e := range level {
			for i := range e.typ.NumField() {
				sf := e.typ.Field(i)
				ft := sf.Type
				if sf.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validFieldName(name) {
					name = ""
				}
				index := append(slices.Clip(e.index), i)
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					if !done[ft] {
						next = append(next, embedded{typ: ft, index: index})
					}
					continue
				}
				f := field{
					name:      name,
					index:     index,
					tagged:    name != "",
					omitEmpty: hasOption(opts, "omitempty"),
					omitZero:  hasOption(opts, "omitzero"),
				}
				if f.name == "" {
					f.name = sf.Name
				}
				if hasOption(opts, "string") {
					qt := sf.Type
					if qt.Name() == "" && qt.Kind() == reflect.Pointer {
						qt = qt.Elem()
					}
					switch qt.Kind() {
					case reflect.Bool,
						reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64, reflect.String:
						f.quoted = true
					}
				}
				if f.omitZero {
					f.isZero = zeroTest(sf.Type)
				}
				f.key = append(appendString(nil, f.name), ':')
				all = append(all, f)
			}
		}
		level = next
	}

	// Keep one field per name: the shallowest, then the tagged one.
	slices.SortStableFunc(all, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		switch {
		case a.tagged && !b.tagged:
			return -1
		case b.tagged && !a.tagged:
			return 1
		}
		return 0
	})
	out := all[:0]
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		first := all[i]
		ambiguous := j-i > 1 && len(all[i+1].index) == len(first.index) && all[i+1].tagged == first.tagged
		if !ambiguous {
			out = append(out, first)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return slices.Clip(out)
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// validFieldName reports whether a json tag name is usable, with the rules
// of encoding/json: letters, digits and ASCII punctuation other than the
// quote, backslash and comma.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", r):
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			return false
		}
	}
	return true
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// zeroTest returns the "omitzero" test for a field of type t: its IsZero
// method when it has one, else reflect's notion of the zero value.
func zeroTest(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if v.IsNil() {
				return true
			}
			if e := v.Elem(); e.Kind() == reflect.Pointer && e.IsNil() {
				return true
			}
			return v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Interface().(isZeroer).IsZero()
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return reflect.Value.IsZero
}
