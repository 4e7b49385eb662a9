using System.Text.RegularExpressions;
using RuleMail.Host.Configuration;
using RuleMail.Rules;

namespace RuleMail.Web.Api;

/// <summary>
/// Rule files sent to the API (<c>rules/lint</c>, <c>rules/test</c>), loaded as <c>rulemail rules lint</c> loads a
/// folder: written to a temporary folder of their own — never the rules folder — named like the configured one, so
/// errors and traces say <c>rules/NAME.yaml:3:7</c> as lint would once the file is there; deleted when loaded (a
/// loaded rule set keeps no file open). JavaScript rules get the configured sandbox limits.
/// </summary>
internal static partial class RuleFiles
{
    /// <summary>The largest rule file accepted (rule files are a few kilobytes).</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>At most this many rule files in one request.</summary>
    public const int MaxFiles = 32;

    /// <summary>
    /// At most this many rules in the files of one dry run: each rule runs on the message, JavaScript ones up to their
    /// sandbox limits, so the count bounds what one request may cost.
    /// </summary>
    public const int MaxRules = 200;

    /// <summary>The media types of a YAML rule file.</summary>
    public static readonly string[] YamlTypes = ["application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"];

    /// <summary>The media types of a JavaScript rule file.</summary>
    public static readonly string[] JavaScriptTypes = ["application/javascript", "text/javascript"];

    /// <summary>Why <paramref name="name"/> cannot be a rule file's name (a path, a hidden file, no rule extension); null when it can.</summary>
    public static string? Refusal(string? name)
    {
        if (string.IsNullOrEmpty(name) || !SafeName().IsMatch(name))
        {
            return $"'{LedgerFilter.Shorten(name ?? string.Empty)}' is not a rule file name: letters, digits, '.', '_' and '-' only (no folders), ending in .yaml, .yml or .js";
        }

        return null;
    }

    /// <summary>True when <paramref name="name"/> is a JavaScript rule file's name.</summary>
    public static bool IsJavaScript(string name) => name.EndsWith(".js", StringComparison.OrdinalIgnoreCase);

    /// <summary>Loads <paramref name="files"/> (name → content) as one rules folder would load, from a temporary folder deleted after.</summary>
    public static RuleSet Load(RuleMailConfig config, IReadOnlyList<(string Name, byte[] Content)> files)
    {
        // Made by the system for this process' user alone (0700), under a name no one can guess.
        var root = Directory.CreateTempSubdirectory("rulemail-rules-").FullName;
        var folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(config.Rules)) is { Length: > 0 } configured ? configured : "rules";
        var folder = Path.Combine(root, folderName);
        try
        {
            Directory.CreateDirectory(folder);
            foreach (var (name, content) in files)
            {
                using var file = new FileStream(Path.Combine(folder, name), FileMode.CreateNew, FileAccess.Write);
                file.Write(content);
            }

            return RuleSet.Load(folder, config.Javascript.Limits);
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover temp folder harms nothing; the answer matters more.
            }
        }
    }

    /// <summary>Reads a stream to its end, or null when it holds more than <see cref="MaxBytes"/>.</summary>
    public static async Task<byte[]?> ReadBoundedAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}\.(yaml|yml|js)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();
}
