using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace RuleMail.Yaml;

/// <summary>
/// YamlDotNet's parser for files a hostile person may write (rule files come over the HTTP API). It refuses, as a
/// <see cref="YamlException"/> at the place like any syntax error:
/// nesting deeper than <see cref="MaxDepth"/> lists and maps — the readers above the parser recurse once a level,
/// so 100,000 <c>[</c> would overflow the stack and end the process, which no catch can stop; and anchors and
/// aliases — an alias repeats a whole subtree, so a few lines of them expand to billions of values ("billion laughs").
/// </summary>
public sealed class BoundedYamlParser : IParser
{
    /// <summary>The deepest nesting of lists and maps accepted; rule files and the configuration need a handful.</summary>
    public const int MaxDepth = 64;

    private readonly Parser _parser;
    private int _depth;

    public BoundedYamlParser(TextReader input) => _parser = new Parser(input);

    public ParsingEvent? Current => _parser.Current;

    public bool MoveNext()
    {
        if (!_parser.MoveNext())
        {
            return false;
        }

        var current = _parser.Current!;
        var anchor = current switch
        {
            AnchorAlias alias => alias.Value,
            NodeEvent node => node.Anchor,
            _ => AnchorName.Empty,
        };
        if (!anchor.IsEmpty)
        {
            throw new YamlException(current.Start, current.End, $"anchors and aliases (&{anchor}, *{anchor}) are not accepted: write the value out in full");
        }

        _depth += current switch
        {
            MappingStart or SequenceStart => 1,
            MappingEnd or SequenceEnd => -1,
            _ => 0,
        };
        if (_depth > MaxDepth)
        {
            throw new YamlException(current.Start, current.End, $"nesting deeper than {MaxDepth} levels of lists and maps is not accepted");
        }

        return true;
    }
}
