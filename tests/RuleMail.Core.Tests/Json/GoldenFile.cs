using System.Runtime.CompilerServices;

namespace RuleMail.Core.Tests.Json;

/// <summary>
/// Golden files: the exact JSON of each contract, kept in <c>Json/Golden/NAME.json</c> and copied to the test output.
/// A test compares byte for byte (only line endings are normalised), so a renamed, reordered, dropped or added field
/// fails. To accept a deliberate contract change, regenerate and review the diff:
/// <code>RULEMAIL_UPDATE_GOLDEN=1 dotnet test tests/RuleMail.Core.Tests --filter "FullyQualifiedName~RuleMail.Core.Tests.Json"</code>
/// which rewrites the files in the source tree (never in a default run).
/// </summary>
internal static class GoldenFile
{
    public const string UpdateVariable = "RULEMAIL_UPDATE_GOLDEN";

    private static readonly string OutputFolder = Path.Combine(AppContext.BaseDirectory, "Json", "Golden");

    private static bool Updating => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    /// <summary>Fails unless <paramref name="actual"/> is the golden file's text; rewrites the file instead when updating.</summary>
    public static void AssertMatches(string name, string actual)
    {
        var text = Normalise(actual) + "\n";
        if (Updating)
        {
            Directory.CreateDirectory(SourceFolder());
            File.WriteAllText(Path.Combine(SourceFolder(), name + ".json"), text);
            return;
        }

        var path = Path.Combine(OutputFolder, name + ".json");
        if (!File.Exists(path))
        {
            Assert.Fail($"no golden file {name}.json; create it with {UpdateVariable}=1 and review it. The JSON was:\n{text}");
        }

        if (Difference(Normalise(File.ReadAllText(path)), Normalise(actual)) is { } difference)
        {
            Assert.Fail($"{name}.json: the contract's JSON changed ({difference}). If the change is intended, regenerate with " +
                $"{UpdateVariable}=1 and review the diff. The JSON now is:\n{text}");
        }
    }

    /// <summary>Null when the two are the same text; otherwise where they first differ.</summary>
    public static string? Difference(string expected, string actual)
    {
        if (string.Equals(expected, actual, StringComparison.Ordinal))
        {
            return null;
        }

        var at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
        {
            at++;
        }

        var line = 1 + expected.AsSpan(0, at).Count('\n');
        return $"line {line}, from character {at}: expected `{Excerpt(expected, at)}`, got `{Excerpt(actual, at)}`";
    }

    private static string Excerpt(string text, int at) =>
        at >= text.Length ? "(end)" : text.Substring(at, Math.Min(60, text.Length - at)).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Normalise(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');

    private static string SourceFolder([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "Golden");
}
