package msgpack

import "errors"

// MaxDepth is the deepest nesting of arrays and maps (in MessagePack) or of
// arrays and objects (in JSON) that the functions of this package accept, as
// the socket.io packet decoder of package parser does by default. A value
// nested deeper is rejected with [ErrTooDeep].
const MaxDepth = 100

// Errors returned, wrapped with the position and more context, by the
// functions of this package. Test for them with errors.Is.
var (
	// ErrTruncated reports MessagePack input that ends inside a value, or
	// a length or count in a header that the rest of the input cannot
	// hold (checked before anything is allocated).
	ErrTruncated = errors.New("msgpack: truncated input")
	// ErrTooDeep reports a value nested more than MaxDepth levels.
	ErrTooDeep = errors.New("msgpack: nested too deeply")
	// ErrInvalid reports malformed MessagePack: the never-used type byte
	// 0xc1, or a timestamp extension (type -1) whose data is not 4, 8 or
	// 12 bytes long.
	ErrInvalid = errors.New("msgpack: invalid MessagePack")
	// ErrMapKey reports a map key that is neither a string nor a number
	// where a map is read as a JSON object or a map[string]any.
	ErrMapKey = errors.New("msgpack: map key is neither a string nor a number")
	// ErrType reports a value of another type than the one asked for
	// ([MapEntries] on something else than a map, [ArrayItems] on
	// something else than an array).
	ErrType = errors.New("msgpack: unexpected type")
	// ErrBinary reports binary data met by [ToJSON] while no attachment
	// list was given.
	ErrBinary = errors.New("msgpack: binary value but no attachment list")
	// ErrInvalidJSON reports input to [FromJSON] that is not exactly one
	// JSON value (with optional whitespace around it).
	ErrInvalidJSON = errors.New("msgpack: invalid JSON")
	// ErrTooLarge reports output that MessagePack cannot represent (a
	// string, binary, array or map of 2^32 or more bytes or elements), or
	// placeholders in the input of [FromJSON] that copy more attachment
	// bytes than the attachments hold together.
	ErrTooLarge = errors.New("msgpack: value too large")
)
