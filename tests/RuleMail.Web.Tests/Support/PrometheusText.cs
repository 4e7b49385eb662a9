using System.Globalization;
using System.Text;

namespace RuleMail.Web.Tests.Support;

/// <summary>One sample of a Prometheus text exposition: <c>name{label="value",...} value</c>.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>True when every given label has the given value (other labels may be there too).</summary>
    public bool Has(params (string Label, string Value)[] labels) =>
        labels.All(l => Labels.TryGetValue(l.Label, out var value) && value == l.Value);
}

/// <summary>
/// A small reader of the Prometheus text format (0.0.4) for the tests: comment lines are skipped except
/// <c># TYPE</c>, which is kept per metric family; label values are unescaped (<c>\\</c>, <c>\"</c>, <c>\n</c>).
/// A line it cannot read fails the test, so a malformed scrape never passes as an empty one.
/// </summary>
internal sealed class PrometheusText
{
    private PrometheusText(IReadOnlyList<PrometheusSample> samples, IReadOnlyDictionary<string, string> types)
    {
        Samples = samples;
        Types = types;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>The <c># TYPE</c> of each metric family (counter, gauge, histogram, ...).</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public static PrometheusText Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
                if (parts is ["#", "TYPE", var family, var type])
                {
                    types[family] = type;
                }

                continue;
            }

            samples.Add(Sample(line));
        }

        return new PrometheusText(samples, types);
    }

    /// <summary>The samples of <paramref name="name"/> with these labels.</summary>
    public IReadOnlyList<PrometheusSample> All(string name, params (string Label, string Value)[] labels) =>
        [.. Samples.Where(s => s.Name == name && s.Has(labels))];

    /// <summary>The one sample of <paramref name="name"/> with these labels; fails when there is none or several.</summary>
    public double Value(string name, params (string Label, string Value)[] labels)
    {
        var found = All(name, labels);
        Assert.True(found.Count == 1,
            $"expected one sample {name}{{{string.Join(",", labels.Select(l => $"{l.Label}=\"{l.Value}\""))}}}, found {found.Count}");
        return found[0].Value;
    }

    private static PrometheusSample Sample(string line)
    {
        var at = 0;
        while (at < line.Length && line[at] is not ('{' or ' '))
        {
            at++;
        }

        var name = line[..at];
        Assert.True(name.Length > 0, $"no metric name: {line}");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (at < line.Length && line[at] == '{')
        {
            at++;
            while (line[at] != '}')
            {
                var equals = line.IndexOf('=', at);
                Assert.True(equals > at && line[equals + 1] == '"', $"bad label at {at}: {line}");
                var label = line[at..equals].Trim();
                at = equals + 2;
                var value = new StringBuilder();
                while (line[at] != '"')
                {
                    if (line[at] == '\\')
                    {
                        at++;
                        value.Append(line[at] switch { 'n' => '\n', var c => c });
                    }
                    else
                    {
                        value.Append(line[at]);
                    }

                    at++;
                }

                labels[label] = value.ToString();
                at++;
                if (line[at] == ',')
                {
                    at++;
                }
            }

            at++;
        }

        var rest = line[at..].Trim().Split(' ');
        return new PrometheusSample(name, labels, rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
        });
    }
}
