package apidoc

import "strconv"

// Patterns of the decimal strings on the wire (docs/protocol.md "Values").
const (
	// DecimalOut is a decimal as results print it: plain notation, no
	// exponent.
	DecimalOut = `^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// DecimalIn is a decimal as params accept it: plain or exponent form.
	DecimalIn = `^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`
)

// Dec is a decimal string of a result, described by desc.
func Dec(desc string) Schema {
	return Schema{"type": "string", "pattern": DecimalOut, "description": desc}
}

// DecIn is a decimal string param.
func DecIn(desc string) Schema {
	return Schema{"type": "string", "pattern": DecimalIn, "description": desc}
}

// Str is a string.
func Str(desc string) Schema { return Schema{"type": "string", "description": desc} }

// StrLen is a string of minLen to maxLen bytes (JSON Schema counts
// characters; the edge counts bytes, said in desc).
func StrLen(minLen, maxLen int, desc string) Schema {
	return Schema{"type": "string", "minLength": minLen, "maxLength": maxLen, "description": desc}
}

// Enum is a string or integer out of values.
func Enum(desc string, values ...any) Schema {
	return Schema{"enum": values, "description": desc}
}

// Const is exactly v.
func Const(v any) Schema { return Schema{"const": v} }

// Int is an integer from lo to hi.
func Int(lo, hi uint64, desc string) Schema {
	return Schema{"type": "integer", "minimum": lo, "maximum": hi, "description": desc}
}

// Integer is any integer.
func Integer(desc string) Schema { return Schema{"type": "integer", "description": desc} }

// Time is a time as Unix seconds with microseconds, a JSON real.
func Time(desc string) Schema {
	return Schema{"type": "number", "description": desc + " (Unix seconds with microseconds)"}
}

// Bool is a boolean.
func Bool(desc string) Schema { return Schema{"type": "boolean", "description": desc} }

// Any is any JSON value of the named types.
func Any(desc string, types ...string) Schema {
	if len(types) == 0 {
		return Schema{"description": desc}
	}
	return Schema{"type": types, "description": desc}
}

// Ref refers to components.schemas[name].
func Ref(name string) Schema { return Schema{"$ref": "#/components/schemas/" + name} }

// Null is null.
func Null() Schema { return Schema{"type": "null"} }

// OneOf is one of the schemas.
func OneOf(s ...Schema) Schema { return Schema{"oneOf": s} }

// Field is one member of an object.
type Field struct {
	Name     string
	Schema   Schema
	Optional bool
}

// F is a required member; Opt an optional one.
func F(name string, s Schema) Field   { return Field{name, s, false} }
func Opt(name string, s Schema) Field { return Field{name, s, true} }

// Obj is an object with exactly these members (the optional ones may be
// absent, no other is allowed).
func Obj(desc string, fields ...Field) Schema {
	props := Schema{}
	req := []string{}
	for _, f := range fields {
		props[f.Name] = f.Schema
		if !f.Optional {
			req = append(req, f.Name)
		}
	}
	s := Schema{"type": "object", "properties": props, "required": req, "additionalProperties": false}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// Map is an object whose members all follow value.
func Map(desc string, value Schema) Schema {
	return Schema{"type": "object", "additionalProperties": value, "description": desc}
}

// Arr is an array of items.
func Arr(desc string, items Schema) Schema {
	s := Schema{"type": "array", "items": items}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// ArrMax is an array of at most max items.
func ArrMax(desc string, items Schema, max int) Schema {
	s := Arr(desc, items)
	s["maxItems"] = max
	return s
}

// Tuple is an array of exactly these items, in this order.
func Tuple(desc string, items ...Schema) Schema {
	s := Schema{"type": "array", "prefixItems": items, "items": false, "minItems": len(items)}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// Status is {"status":"success"}.
func Status() Schema {
	return Obj("", F("status", Const("success")))
}

// Itoa is strconv.Itoa, for rule texts.
func Itoa(i int) string { return strconv.Itoa(i) }
