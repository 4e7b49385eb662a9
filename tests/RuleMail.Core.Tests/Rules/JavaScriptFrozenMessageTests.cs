using System.Text.Json;
using System.Text.Json.Nodes;
using RuleMail.Crypto;
using RuleMail.Rules;

namespace RuleMail.Core.Tests.Rules;

/// <summary>
/// The message a JavaScript rule gets is made as the script reads it (<see cref="JavaScriptFrozenObject"/>); to the
/// script it must be indistinguishable from the same model parsed with <c>JSON.parse</c> and frozen all the way
/// down, whatever it tries first: the same keys in the same order, the same descriptors, the same answers to
/// every write, definition, deletion and prototype change, and the same JSON.
/// </summary>
public sealed class JavaScriptFrozenMessageTests
{
    /// <summary>
    /// Runs the same probes on the message and on a deep-frozen JSON.parse of its model, in the same engine, and
    /// returns the lines where they differ (none: the tag <c>same</c>). Each object is probed for changes before
    /// any of its properties is read, so a property that was never made is what the first write meets.
    /// </summary>
    private const string Probes = """
        const deepFreeze = (value) => {
          if (value !== null && typeof value === 'object') {
            for (const key of Object.keys(value)) deepFreeze(value[key]);
            Object.freeze(value);
          }
          return value;
        };
        const describe = (value) => value === null || typeof value !== 'object' ? typeof value + ':' + String(value) : 'object';
        const attempt = (action) => { try { return 'returned ' + describe(action()); } catch (e) { return e.constructor.name; } };
        function probe(target, path, lines) {
          const say = (what, result) => lines.push(path + ' ' + what + ' -> ' + result);
          const keys = Reflect.ownKeys(target);
          say('ownKeys', JSON.stringify(keys));
          const first = keys.length > 0 ? keys[0] : 'none';
          say('assign existing', attempt(() => { target[first] = 'changed'; }));
          say('assign new', attempt(() => { target.added = 'new'; }));
          say('Reflect.set existing', attempt(() => Reflect.set(target, first, 'changed')));
          say('Reflect.set new', attempt(() => Reflect.set(target, 'added', 'new')));
          say('define value', attempt(() => Object.defineProperty(target, first, { value: 'changed' })));
          say('define writable', attempt(() => Reflect.defineProperty(target, first, { writable: true })));
          say('define configurable', attempt(() => Reflect.defineProperty(target, first, { configurable: true })));
          say('define hidden', attempt(() => Reflect.defineProperty(target, first, { enumerable: false })));
          say('define getter', attempt(() => Reflect.defineProperty(target, first, { get() { return 1; } })));
          say('define new', attempt(() => Reflect.defineProperty(target, 'added', { value: 1 })));
          say('define symbol', attempt(() => Reflect.defineProperty(target, Symbol.iterator, { value: 1 })));
          say('delete existing', attempt(() => delete target[first]));
          say('Reflect.delete existing', attempt(() => Reflect.deleteProperty(target, first)));
          say('Reflect.delete missing', attempt(() => Reflect.deleteProperty(target, 'missing')));
          say('setPrototypeOf null', attempt(() => Reflect.setPrototypeOf(target, null)));
          say('setPrototypeOf same', attempt(() => Reflect.setPrototypeOf(target, Object.getPrototypeOf(target))));
          say('__proto__', attempt(() => { target.__proto__ = {}; }));
          say('preventExtensions', attempt(() => Reflect.preventExtensions(target)));
          say('freeze again', attempt(() => Object.freeze(target) === target));
          say('define same value', attempt(() => Reflect.defineProperty(target, first, { value: target[first], writable: false, enumerable: true, configurable: false })));
          say('isFrozen', Object.isFrozen(target));
          say('isSealed', Object.isSealed(target));
          say('isExtensible', Object.isExtensible(target));
          say('isArray', Array.isArray(target));
          say('prototype', Object.getPrototypeOf(target) === Object.prototype ? 'Object' : Object.getPrototypeOf(target) === Array.prototype ? 'Array' : 'other');
          say('toString', Object.prototype.toString.call(target));
          say('keys', JSON.stringify(Object.keys(target)));
          say('names', JSON.stringify(Object.getOwnPropertyNames(target)));
          say('symbols', Object.getOwnPropertySymbols(target).length);
          const forIn = [];
          for (const key in target) forIn.push(key);
          say('for-in', JSON.stringify(forIn));
          say('entries', JSON.stringify(Object.entries(target)));
          say('spread', JSON.stringify({ ...target }));
          say('assign', JSON.stringify(Object.assign({}, target)));
          say('stringify', JSON.stringify(target));
          say('in missing', 'missing' in target);
          say('hasOwn missing', Object.hasOwn(target, 'missing'));
          say('hasOwnProperty', attempt(() => target.hasOwnProperty(first)));
          for (const key of keys) {
            const descriptor = Object.getOwnPropertyDescriptor(target, key);
            say('descriptor ' + String(key), JSON.stringify({ ...descriptor, value: describe(descriptor.value) }));
            say('same value ' + String(key), descriptor.value === target[key]);
            say('enumerable ' + String(key), target.propertyIsEnumerable(key));
            say('in ' + String(key), key in target);
            if (descriptor.value !== null && typeof descriptor.value === 'object') {
              say('same object ' + String(key), target[key] === target[key]);
              probe(target[key], path + '.' + String(key), lines);
            }
          }
          say('stringify after', JSON.stringify(target));
          return lines;
        }
        function decide(message) {
          const reference = deepFreeze(JSON.parse(MODEL));
          const before = [JSON.stringify(message) === JSON.stringify(reference) ? 'same JSON first' : 'JSON differs: ' + JSON.stringify(message)];
          const actual = probe(message, 'message', before.slice());
          const expected = probe(reference, 'message', ['same JSON first']);
          const differences = [];
          for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
            if (actual[i] !== expected[i]) differences.push('got ' + actual[i] + ' / want ' + expected[i]);
          }
          return { tag: differences.length === 0 ? ['same', String(actual.length)] : differences.slice(0, 20) };
        }
        """;

    [Fact]
    public void The_message_answers_every_probe_as_a_deep_frozen_JSON_parse_of_its_model()
    {
        var message = RuleFolder.Message(
            cc: "carol@customer.example",
            attachment: ("a.pdf", "application/pdf"),
            security: new SecurityResult("PGP", new SecurityOutcome(true, "ok"), new SecurityOutcome(false, "no key")));

        var tag = Probe(message);

        Assert.Equal("same", tag[0]);
        Assert.True(int.Parse(tag[1], System.Globalization.CultureInfo.InvariantCulture) > 500, $"only {tag[1]} probes ran");
    }

    [Fact]
    public void Keys_that_are_array_indices_come_first_in_ascending_order_as_in_an_ordinary_object()
    {
        var message = RuleFolder.Message();
        var headers = message.Root["headers"]!.AsObject();
        foreach (var name in new[] { "b", "10", "2", "a", "01", "4294967295", "4294967294", "0", "-1", "1.5", "9" })
        {
            headers[name] = "value of " + name;
        }

        // Also one with more names than are found by comparing each, and an empty object.
        var many = new JsonObject();
        for (var i = 40; i > 0; i--)
        {
            many[i % 3 == 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "k" + i] = i;
        }

        message.Root["many"] = many;
        message.Root["empty"] = new JsonObject();
        message.Root["nested"] = new JsonArray(new JsonArray(1, "two", null, true), new JsonObject { ["3"] = 3.5 }, new JsonArray());

        Assert.Equal("same", Probe(message)[0]);
    }

    [Fact]
    public void A_nested_object_never_read_before_refuses_changes_in_strict_mode()
    {
        // Each change is the first thing done to that object: nothing of it exists in the engine yet.
        var rule = JavaScriptScripts.Compile("""
            function decide(message) {
              const failed = [];
              const check = (name, change) => {
                try { change(); failed.push(name + ': no error'); } catch (e) { if (!(e instanceof TypeError)) failed.push(name + ': ' + e); }
              };
              check('assign', () => { message.headers['x-mailer'] = 'changed'; });
              check('add', () => { message.security.sign.added = true; });
              check('define', () => Object.defineProperty(message.security.encryption, 'success', { value: true }));
              check('delete', () => { delete message.from.domain; });
              check('prototype', () => Object.setPrototypeOf(message.cc[0], {}));
              const descriptor = Object.getOwnPropertyDescriptor(message.attachments[0], 'name');
              if (descriptor.writable || descriptor.configurable || !descriptor.enumerable) failed.push('descriptor ' + JSON.stringify(descriptor));
              if (!Object.isFrozen(message.attachments[0])) failed.push('attachment not frozen');
              if (message.headers['x-mailer'] !== 'Thunderbird 140') failed.push('header changed');
              if (message.security.sign.added !== undefined) failed.push('sign extended');
              if (message.security.encryption.success !== false) failed.push('encryption changed');
              if (message.from.domain !== 'customer.example') failed.push('domain deleted');
              return { tag: failed.length === 0 ? ['all refused'] : failed };
            }
            """);

        var result = rule.Evaluate(RuleFolder.Message(
            cc: "carol@customer.example",
            attachment: ("a.pdf", "application/pdf"),
            security: new SecurityResult("PGP", new SecurityOutcome(true, "ok"), new SecurityOutcome(false, "no key"))));

        Assert.Null(result.Error);
        Assert.Equal(["all refused"], result.Decision?.Tag);
    }

    [Fact]
    public void A_part_of_the_message_returned_as_the_decision_is_read_as_a_plain_object()
    {
        var rule = JavaScriptScripts.Compile("function decide(message) { return message.security.sign; }");

        var result = rule.Evaluate(RuleFolder.Message(security: new SecurityResult("PGP", new SecurityOutcome(true, "ok"), null)));

        // Its keys are read (and are no decision's keys), as they would be from any plain object.
        Assert.StartsWith("decide() returned a bad decision: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("success", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_tests_run_with_Jint_s_host_contract_verification_on()
    {
        // With it on, Jint checks on every read, probe and enumeration that JavaScriptFrozenObject's answers agree
        // with each other (RuleMail.Core.Tests.csproj sets the switch).
        Assert.True(AppContext.TryGetSwitch("Jint.EnableHostContractVerification", out var enabled) && enabled);
    }

    private static List<string> Probe(RuleMessage message)
    {
        var model = JsonSerializer.Serialize(message.Root.ToJsonString());
        var rule = JavaScriptScripts.Compile($"const MODEL = {model};\n{Probes}", "rules/probe.js", new JavaScriptLimits { MaxStatements = 10_000_000, MaxMemoryBytes = 256 * 1024 * 1024, Timeout = TimeSpan.FromSeconds(30) });
        var result = rule.Evaluate(message);
        Assert.Null(result.Error);
        var tag = result.Decision?.Tag ?? [];
        Assert.True(tag.Count > 0 && tag[0] == "same", string.Join("\n", tag));
        return [.. tag];
    }
}
