package jscodec

import (
	"errors"
	"fmt"

	"github.com/dop251/goja"
)

// typedArrays are the constructors whose first argument may be a length,
// with their element sizes.
var typedArrays = map[string]int64{
	"ArrayBuffer": 1, "Int8Array": 1, "Uint8Array": 1, "Uint8ClampedArray": 1,
	"Int16Array": 2, "Uint16Array": 2, "Int32Array": 4, "Uint32Array": 4,
	"Float32Array": 4, "Float64Array": 8, "BigInt64Array": 8, "BigUint64Array": 8,
}

// limitBuiltins wraps the built-ins that can allocate or loop without end
// in one native call, which an interrupt cannot stop, with size checks.
func (d *Decoder) limitBuiltins(vm *goja.Runtime) error {
	lim := &limiter{vm: vm, maxLen: d.maxArray, maxStr: int64(d.maxStrings)}
	arrayProto := vm.Get("Array").ToObject(vm).Get("prototype").ToObject(vm)
	for _, name := range arrayProto.GetOwnPropertyNames() {
		if name == "constructor" {
			continue
		}
		if err := lim.wrap(arrayProto, "Array.prototype."+name, name, lim.thisLength); err != nil {
			return err
		}
	}
	array := vm.Get("Array").ToObject(vm)
	for _, name := range []string{"from", "of"} {
		if err := lim.wrap(array, "Array."+name, name, lim.argLength); err != nil {
			return err
		}
	}
	strProto := vm.Get("String").ToObject(vm).Get("prototype").ToObject(vm)
	for _, name := range []string{"repeat", "padStart", "padEnd"} {
		if err := lim.wrap(strProto, "String.prototype."+name, name, lim.stringResult(name)); err != nil {
			return err
		}
	}
	for name, size := range typedArrays {
		if err := lim.wrapConstructor(name, size); err != nil {
			return err
		}
	}
	return nil
}

type limiter struct {
	vm     *goja.Runtime
	maxLen int64
	maxStr int64
}

// check returns a non-nil error to refuse a call.
type check func(call goja.FunctionCall) error

func (l *limiter) wrap(obj *goja.Object, full, name string, ok check) error {
	orig, isFn := goja.AssertFunction(obj.Get(name))
	if !isFn {
		return nil
	}
	wrapped := func(call goja.FunctionCall) goja.Value {
		if err := ok(call); err != nil {
			panic(l.vm.NewTypeError("%s: %v", full, err))
		}
		v, err := orig(call.This, call.Arguments...)
		if err != nil {
			panic(l.rethrow(err))
		}
		return v
	}
	// Built-ins are non-enumerable; keep them so, or for-in loops over
	// arrays would list them.
	if err := obj.DefineDataProperty(name, l.vm.ToValue(wrapped), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return fmt.Errorf("wrap %s: %w", full, err)
	}
	return nil
}

// rethrow turns an error of a wrapped call back into a JavaScript throw.
func (l *limiter) rethrow(err error) any {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.Value()
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		return err // uncatchable: goja keeps unwinding
	}
	return l.vm.NewGoError(err)
}

func (l *limiter) length(v goja.Value) int64 {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return 0
	}
	n := obj.Get("length")
	if n == nil || goja.IsUndefined(n) {
		return 0
	}
	return n.ToInteger()
}

func (l *limiter) thisLength(call goja.FunctionCall) error {
	if n := l.length(call.This); n > l.maxLen {
		return fmt.Errorf("array of %d elements exceeds the codec limit of %d", n, l.maxLen)
	}
	return nil
}

func (l *limiter) argLength(call goja.FunctionCall) error {
	if n := int64(len(call.Arguments)); n > l.maxLen {
		return fmt.Errorf("%d arguments exceed the codec limit of %d", n, l.maxLen)
	}
	if n := l.length(call.Argument(0)); n > l.maxLen {
		return fmt.Errorf("array-like of %d elements exceeds the codec limit of %d", n, l.maxLen)
	}
	return nil
}

func (l *limiter) stringResult(name string) check {
	return func(call goja.FunctionCall) error {
		n := call.Argument(0).ToInteger()
		if name == "repeat" {
			n *= int64(len(call.This.String()))
		}
		if n > l.maxStr {
			return fmt.Errorf("result of %d characters exceeds the codec limit of %d", n, l.maxStr)
		}
		return nil
	}
}

// wrapConstructor replaces a global typed-array or ArrayBuffer constructor
// with one that checks a length argument (or an array-like's length)
// first. prototype and the static methods stay those of the original, so
// instanceof and X.from keep working.
func (l *limiter) wrapConstructor(name string, elemSize int64) error {
	origV := l.vm.Get(name)
	if origV == nil || goja.IsUndefined(origV) {
		return nil
	}
	orig := origV.ToObject(l.vm)
	maxBytes := l.maxLen * 8
	ctor := l.vm.ToValue(func(call goja.ConstructorCall) *goja.Object {
		var n int64
		switch a := call.Argument(0).(type) {
		case *goja.Object:
			n = l.length(a)
		default:
			if a != nil && !goja.IsUndefined(a) {
				n = a.ToInteger()
			}
		}
		if n*elemSize > maxBytes {
			panic(l.vm.NewTypeError("%s: %d elements exceed the codec limit of %d bytes", name, n, maxBytes))
		}
		obj, err := l.vm.New(orig, call.Arguments...)
		if err != nil {
			panic(l.rethrow(err))
		}
		return obj
	}).ToObject(l.vm)
	for _, prop := range []string{"prototype", "from", "of", "BYTES_PER_ELEMENT", "isView"} {
		v := orig.Get(prop)
		if v == nil || goja.IsUndefined(v) {
			continue
		}
		if prop == "from" || prop == "of" {
			if err := ctor.DefineDataProperty(prop, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
				return fmt.Errorf("wrap %s.%s: %w", name, prop, err)
			}
			if err := l.wrap(ctor, name+"."+prop, prop, l.argLength); err != nil {
				return err
			}
			continue
		}
		if err := ctor.DefineDataProperty(prop, v, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
			return fmt.Errorf("wrap %s.%s: %w", name, prop, err)
		}
	}
	if err := l.vm.Set(name, ctor); err != nil {
		return fmt.Errorf("wrap %s: %w", name, err)
	}
	return nil
}
