using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RuleMail.Web.Problems;

/// <summary>
/// What was wrong with a JSON body, in the API's words: where (the JSON path, line and byte) and what, never
/// System.Text.Json's own sentence with the .NET types it converts to — a client learns nothing from those, and an
/// attacker learns the program's insides.
/// </summary>
internal static partial class JsonProblem
{
    public static string Describe(JsonException json)
    {
        var what = What(json.Message);
        var where = json.Path is { Length: > 0 } path && path != "$" ? $" at {path}" : string.Empty;
        var place = json.LineNumber is { } line
            ? string.Create(CultureInfo.InvariantCulture, $" (line {line + 1}, byte {(json.BytePositionInLine ?? 0) + 1})")
            : string.Empty;
        return $"the body is not JSON of the expected shape{where}{place}: {what}";
    }

    private static string What(string message)
    {
        // The reader's sentence ends in " Path: $.x | LineNumber: 0 | BytePositionInLine: 3." — said above, in our words.
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        var sentence = (cut >= 0 ? message[..cut] : message).Trim().TrimEnd('.');
        if (sentence.StartsWith("The JSON value could not be converted to", StringComparison.Ordinal))
        {
            return "a value of the wrong kind (a string where a list belongs, a word where true or false belongs, ...)";
        }

        if (Missing().Match(sentence) is { Success: true } missing)
        {
            return $"required fields missing: {missing.Groups[1].Value}";
        }

        // Any other sentence may still name a .NET type: say 'a value' instead.
        return DotNetType().Replace(sentence, "a value");
    }

    [GeneratedRegex(@"missing required properties including: (.+)$")]
    private static partial Regex Missing();

    /// <summary>A namespace-qualified .NET type name, quoted or not, with generic arguments and array brackets.</summary>
    [GeneratedRegex(@"'?\b(?:System|Microsoft|RuleMail|MimeKit)(?:\.[A-Za-z_][\w`]*)+(?:\[[^\]]*\])*'?")]
    private static partial Regex DotNetType();
}
