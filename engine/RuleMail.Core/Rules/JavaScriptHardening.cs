using Acornima.Ast;
using Jint;

namespace RuleMail.Rules;

/// <summary>
/// Script that runs in every rule engine before the rule's own script. Jint's memory and time limits are
/// checked between statements and inside most built-ins, but (measured with Jint 4.18.0) not inside a few
/// that make a result proportional to a number the script chooses: <c>'x'.repeat(n)</c>, a string
/// replacement under a global regular expression, typed arrays, and <c>concat</c>, <c>slice</c>,
/// <c>map</c>, <c>toReversed</c>, <c>toSorted</c>, <c>with</c>, <c>apply</c> and spreading over a huge
/// sparse array (<c>new Array(1e8)</c> costs nothing until copied), each of which allocated hundreds of
/// megabytes or ran for tens of seconds in one call. This script removes what rules do not need (typed
/// arrays and buffers, <c>Proxy</c>, <c>ShadowRealm</c>, weak references) and wraps those built-ins so they
/// refuse oversized work up front (more elements than the memory limit could hold at 8 bytes each, more
/// characters than at 2 bytes each) or do it in metered script.
/// </summary>
/// <remarks>
/// The wrappers keep the originals in a closure the rule's script cannot reach and call them through a
/// captured <c>Reflect.apply</c>, so replacing <c>Function.prototype.call</c> or a global later changes
/// nothing; Array's species is locked so that no script runs between a wrapper's length check and the
/// built-in's own. Other built-ins may have the same gap: a case found belongs here, with a test in
/// JavaScriptSandboxTests.
/// </remarks>
internal static class JavaScriptHardening
{
    /// <summary>Where the hardening appears in stack traces; never a rule's file name.</summary>
    public const string SourceName = "rulemail:sandbox";

    /// <summary>A function expression; the sandbox calls it once with (maxCharacters, maxElements).</summary>
    public static Prepared<Script> Script { get; } = Engine.PrepareScript(
        """
        (function harden(maxCharacters, maxElements) {
          'use strict';
          const global = globalThis;
          const reflectApply = Reflect.apply;
          const reflectConstruct = Reflect.construct;
          const defineProperty = Reflect.defineProperty;
          const deleteProperty = Reflect.deleteProperty;
          const getPrototypeOf = Reflect.getPrototypeOf;
          const hasOwn = Object.hasOwn;
          const toObject = Object;
          const toText = String;
          const isArray = Array.isArray;
          const arrayFrom = Array.from;
          const ArrayPrototype = Array.prototype;
          const trunc = Math.trunc;
          const min = Math.min;
          const RangeErrorType = RangeError;
          const TypeErrorType = TypeError;
          const concatSpreadable = Symbol.isConcatSpreadable;
          const indexOf = String.prototype.indexOf;
          const slice = String.prototype.slice;

          const unneeded = ['ShadowRealm', 'Proxy', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics',
            'TypedArray', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
            'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
            'WeakRef', 'FinalizationRegistry'];
          for (let i = 0; i < unneeded.length; i++) {
            if (!deleteProperty(global, unneeded[i])) throw new TypeErrorType('cannot remove ' + unneeded[i]);
          }

          const define = (target, key, value) => {
            if (!defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true })) {
              throw new TypeErrorType('cannot wrap ' + toText(key));
            }
          };
          // The array wrappers rely on Array's species being Array: no script code may run between their
          // length check and the built-in's own reading of the length.
          if (!defineProperty(ArrayPrototype, 'constructor', { writable: false, configurable: false })
            || !defineProperty(Array, Symbol.species, { configurable: false })) {
            throw new TypeErrorType('cannot lock the species of Array');
          }

          const toLength = (value) => {
            const number = trunc(+value);
            return number > 0 ? min(number, 9007199254740991) : 0;
          };
          const tooMany = (name, count) =>
            new RangeErrorType(name + ' over ' + count + ' elements; a rule may handle at most ' + maxElements + ' at once');
          const plainArray = (value) =>
            isArray(value) && getPrototypeOf(value) === ArrayPrototype && !hasOwn(value, 'constructor');
          const bounded = (value, name) => {
            if (value === null || value === undefined) throw new TypeErrorType(name + ' called on null or undefined');
            const array = plainArray(value) ? value : reflectApply(arrayFrom, undefined, [value]);
            if (array.length > maxElements) throw tooMany(name, array.length);
            return array;
          };

          const repeat = String.prototype.repeat;
          define(String.prototype, 'repeat', {
            repeat(count) {
              if (this === null || this === undefined) throw new TypeErrorType('String.prototype.repeat called on null or undefined');
              const text = toText(this);
              const times = trunc(+count);
              if (times * text.length > maxCharacters) {
                throw new RangeErrorType('repeat would make ' + times * text.length + ' characters; a rule may make at most ' + maxCharacters + ' at once');
              }
              return reflectApply(repeat, text, [times]);
            },
          }.repeat);

          const copying = ['slice', 'map', 'toReversed', 'toSorted', 'with'];
          for (let i = 0; i < copying.length; i++) {
            const name = copying[i];
            const original = ArrayPrototype[name];
            define(ArrayPrototype, name, {
              [name](...args) {
                return reflectApply(original, bounded(this, 'Array.prototype.' + name), args);
              },
            }[name]);
          }

          // Spreading and for-of read arrays through this iterator; Jint's own spread does not meter its copy.
          const values = ArrayPrototype.values;
          const iterate = {
            values() {
              if (this === null || this === undefined) throw new TypeErrorType('Array.prototype.values called on null or undefined');
              const length = toLength(toObject(this).length);
              if (length > maxElements) throw tooMany('iterating an array', length);
              return reflectApply(values, this, []);
            },
          }.values;
          define(ArrayPrototype, 'values', iterate);
          define(ArrayPrototype, Symbol.iterator, iterate);

          const spreadable = (value) => {
            if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
            const flag = value[concatSpreadable];
            return flag !== undefined ? !!flag : isArray(value);
          };
          define(ArrayPrototype, 'concat', {
            concat(...items) {
              if (this === null || this === undefined) throw new TypeErrorType('Array.prototype.concat called on null or undefined');
              const result = [];
              let count = 0;
              for (let i = -1; i < items.length; i++) {
                const item = i < 0 ? toObject(this) : items[i];
                if (spreadable(item)) {
                  const length = toLength(item.length);
                  if (count + length > maxElements) throw tooMany('Array.prototype.concat', count + length);
                  for (let k = 0; k < length; k++, count++) {
                    if (k in item) result[count] = item[k];
                  }
                } else {
                  if (count + 1 > maxElements) throw tooMany('Array.prototype.concat', count + 1);
                  result[count++] = item;
                }
              }
              result.length = count;
              return result;
            },
          }.concat);

          const argumentList = (value, name) =>
            value !== null && (typeof value === 'object' || typeof value === 'function') ? bounded(value, name) : value;
          const functionApply = Function.prototype.apply;
          define(Function.prototype, 'apply', {
            apply(thisArgument, args) {
              return reflectApply(functionApply, this, [thisArgument, argumentList(args, 'Function.prototype.apply')]);
            },
          }.apply);
          define(Reflect, 'apply', {
            apply(target, thisArgument, args) {
              return reflectApply(target, thisArgument, argumentList(args, 'Reflect.apply'));
            },
          }.apply);
          define(Reflect, 'construct', {
            construct(target, args) {
              const list = argumentList(args, 'Reflect.construct');
              return arguments.length > 2 ? reflectConstruct(target, list, arguments[2]) : reflectConstruct(target, list);
            },
          }.construct);

          // A string replacement is expanded by a function, so each match runs metered script.
          const substitution = (template) => function (matched) {
            const last = arguments.length - 1;
            const groups = typeof arguments[last] === 'string' ? undefined : arguments[last];
            const text = arguments[groups === undefined ? last : last - 1];
            const position = arguments[groups === undefined ? last - 1 : last - 2];
            const captures = (groups === undefined ? last - 2 : last - 3);
            let result = '';
            let from = 0;
            for (;;) {
              const dollar = reflectApply(indexOf, template, ['$', from]);
              if (dollar < 0 || dollar === template.length - 1) return result + reflectApply(slice, template, [from]);
              result += reflectApply(slice, template, [from, dollar]);
              const next = template[dollar + 1];
              if (next === '$') { result += '$'; from = dollar + 2; }
              else if (next === '&') { result += matched; from = dollar + 2; }
              else if (next === '`') { result += reflectApply(slice, text, [0, position]); from = dollar + 2; }
              else if (next === "'") { result += reflectApply(slice, text, [min(position + matched.length, text.length)]); from = dollar + 2; }
              else if (next >= '0' && next <= '9') {
                const one = +next;
                const after = template[dollar + 2];
                const two = after !== undefined && after >= '0' && after <= '9' ? one * 10 + +after : -1;
                if (two >= 1 && two <= captures) { const capture = arguments[two]; result += capture === undefined ? '' : capture; from = dollar + 3; }
                else if (one >= 1 && one <= captures) { const capture = arguments[one]; result += capture === undefined ? '' : capture; from = dollar + 2; }
                else { result += '$'; from = dollar + 1; }
              }
              else if (next === '<' && groups !== undefined) {
                const close = reflectApply(indexOf, template, ['>', dollar + 2]);
                if (close < 0) { result += '$<'; from = dollar + 2; }
                else {
                  const capture = groups[reflectApply(slice, template, [dollar + 2, close])];
                  result += capture === undefined ? '' : toText(capture);
                  from = close + 1;
                }
              }
              else { result += '$'; from = dollar + 1; }
            }
          };
          const replace = RegExp.prototype[Symbol.replace];
          define(RegExp.prototype, Symbol.replace, {
            [Symbol.replace](string, replaceValue) {
              if (typeof replaceValue !== 'function') {
                const template = toText(replaceValue);
                replaceValue = reflectApply(indexOf, template, ['$']) < 0 ? () => template : substitution(template);
              }
              return reflectApply(replace, this, [string, replaceValue]);
            },
          }[Symbol.replace]);
        })
        """,
        SourceName,
        strict: true);
}
