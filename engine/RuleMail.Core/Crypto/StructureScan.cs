using System.Globalization;
using System.Text;
using MimeKit;

namespace RuleMail.Crypto;

/// <summary>What <see cref="StructureScan"/> found: the first bound a message is over (null when none), and whether its top-level header block was complete and within bounds.</summary>
internal readonly record struct StructureScanResult(string? Problem, bool TopHeadersComplete);

/// <summary>
/// Bounds a message's MIME structure in one linear pass over its bytes, before MimeKit parses it. MimeKit's
/// header parsing costs more than linear time and memory in a field's length, in its folded lines and in its
/// RFC 2231 parameter continuations (a 4 MB header line allocates 2 GB), and every part costs objects; so header
/// blocks, header fields, folds, parameters, parts and depth are counted here, while the bytes stream past, and a
/// message over a bound is judged damaged without being parsed.
/// </summary>
/// <remarks>
/// The scan follows MimeKit's reading of a message so that an attacker cannot hide a header block from it: a
/// header block ends at an empty line or at a boundary line; any other line in it (even one that is not a
/// header) belongs to it; a boundary is <c>--</c> plus the boundary of an enclosing multipart (the first
/// Content-Type of its entity, parsed by MimeKit itself) followed only by white space, or by <c>--</c> to close
/// it; a message/* part that is not base64 or quoted-printable holds a message, whose headers are bounded too.
/// Where the two readings might differ, the scan counts more, never less.
/// </remarks>
internal static class StructureScan
{
    /// <summary>The deepest MIME nesting judged (MimeKit is told the same).</summary>
    public const int MaxDepth = 64;

    /// <summary>The largest single header field, folds included (and never more than the header block bound).</summary>
    public const int MaxFieldBytes = 256 * 1024;

    /// <summary>The most lines one header field may be folded over.</summary>
    public const int MaxFoldedLines = 5_000;

    /// <summary>The most parameters (<c>;</c>) in one Content-* header field.</summary>
    public const int MaxParameters = 1_000;

    public static StructureScanResult Run(Stream raw, SecurityPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(policy);
        return new Scanner(raw, policy).Run();
    }

    /// <summary>One enclosing entity: a multipart with its boundary, or a message/* part (no boundary).</summary>
    private sealed record Frame(byte[]? Boundary, bool IsDigest);

    private sealed class Scanner(Stream raw, SecurityPolicy policy)
    {
        private readonly LineReader _lines = new(raw);
        private readonly List<Frame> _frames = [];
        private readonly int _fieldLimit = Math.Min(MaxFieldBytes, policy.MaxHeaderBytes);
        private int _parts = 1;
        private bool _topHeadersComplete;

        // The header block being read.
        private long _blockBytes;
        private bool _fieldOpen;
        private long _fieldBytes;
        private int _fieldLines;
        private int _fieldSemicolons;
        private bool _fieldIsContent;
        private MemoryStream? _fieldValue;
        private bool _capturingContentType;
        private byte[]? _contentType;
        private byte[]? _transferEncoding;

        public StructureScanResult Run()
        {
            var inHeaders = true;
            var topLevel = true;
            while (true)
            {
                var keep = inHeaders ? _fieldLimit + 2 : BoundaryKeep();
                if (!inHeaders && keep == 0)
                {
                    // A leaf with no enclosing multipart: nothing further can start a header block.
                    return Done(null);
                }

                if (!_lines.Next(keep, out var length))
                {
                    return Done(null);
                }

                var line = _lines.Kept;
                if (line.StartsWith("--"u8) && Boundary(line, length) is { } level)
                {
                    if (inHeaders)
                    {
                        EndBlock(ref topLevel);
                    }

                    if (Delimiter(level.Index, level.Closes) is { } problem)
                    {
                        return Done(problem);
                    }

                    inHeaders = !level.Closes;
                    if (inHeaders)
                    {
                        StartBlock();
                    }

                    continue;
                }

                if (!inHeaders)
                {
                    continue;
                }

                if (length == 0)
                {
                    EndBlock(ref topLevel);
                    inHeaders = Entity(out var entityProblem);
                    if (entityProblem is not null)
                    {
                        return Done(entityProblem);
                    }

                    if (inHeaders)
                    {
                        StartBlock();
                    }

                    continue;
                }

                if (HeaderLine(line, length) is { } lineProblem)
                {
                    return Done(lineProblem);
                }
            }
        }

        private StructureScanResult Done(string? problem) => new(problem, _topHeadersComplete);

        private void StartBlock()
        {
            _blockBytes = 0;
            _fieldOpen = false;
            _contentType = null;
            _transferEncoding = null;
        }

        private string? HeaderLine(ReadOnlySpan<byte> line, long length)
        {
            if (length > _fieldLimit)
            {
                return $"a header field is larger than {Kb(_fieldLimit)} KB";
            }

            var continues = _fieldOpen && line.Length > 0 && line[0] is (byte)' ' or (byte)'\t';
            if (continues && _fieldBytes + length + 2 > _fieldLimit)
            {
                return $"a header field is larger than {Kb(_fieldLimit)} KB";
            }

            _blockBytes += length + 2;
            if (_blockBytes > policy.MaxHeaderBytes)
            {
                return $"a header block is larger than {Kb(policy.MaxHeaderBytes)} KB (security.max_header_kb)";
            }

            if (continues)
            {
                _fieldBytes += length + 2;

                if (++_fieldLines > MaxFoldedLines)
                {
                    return $"a header field is folded over more than {MaxFoldedLines.ToString("N0", CultureInfo.InvariantCulture)} lines";
                }

                _fieldValue?.Write("\r\n"u8);
                _fieldValue?.Write(line);
                return CountParameters(line);
            }

            CloseField();
            if (line.Length > 0 && line[0] is (byte)' ' or (byte)'\t')
            {
                // White space before any field: MimeKit skips such a line; it names nothing, though it still counts.
                return null;
            }

            var colon = line.IndexOf((byte)':');
            var name = (colon < 0 ? line : line[..colon]).Trim(" \t"u8);
            _fieldOpen = true;
            _fieldBytes = length + 2;
            _fieldLines = 1;
            _fieldSemicolons = 0;
            _fieldIsContent = name.Length >= 8 && Ascii.EqualsIgnoreCase(name[..8], "Content-"u8);
            var captures = colon >= 0 && ((_contentType is null && Ascii.EqualsIgnoreCase(name, "Content-Type"u8))
                                          || (_transferEncoding is null && Ascii.EqualsIgnoreCase(name, "Content-Transfer-Encoding"u8)));
            _fieldValue = captures ? new MemoryStream() : null;
            if (captures)
            {
                _fieldValue!.Write(line[(colon + 1)..]);
                _capturingContentType = Ascii.EqualsIgnoreCase(name, "Content-Type"u8);
            }

            return CountParameters(line);
        }

        private string? CountParameters(ReadOnlySpan<byte> line)
        {
            if (!_fieldIsContent)
            {
                return null;
            }

            _fieldSemicolons += line.Count((byte)';');
            return _fieldSemicolons > MaxParameters
                ? $"a Content header has more than {MaxParameters.ToString("N0", CultureInfo.InvariantCulture)} parameters"
                : null;
        }

        private void CloseField()
        {
            if (_fieldValue is { } value)
            {
                if (_capturingContentType)
                {
                    _contentType = value.ToArray();
                }
                else
                {
                    _transferEncoding = value.ToArray();
                }

                value.Dispose();
                _fieldValue = null;
            }

            _fieldOpen = false;
        }

        private void EndBlock(ref bool topLevel)
        {
            CloseField();
            if (topLevel)
            {
                _topHeadersComplete = true;
                topLevel = false;
            }
        }

        /// <summary>After a header block: what the entity's body is. True when it holds a message, whose header block follows.</summary>
        private bool Entity(out string? problem)
        {
            problem = null;
            var parentIsDigest = _frames.Count > 0 && _frames[^1].IsDigest;
            // MimeKit uses what TryParse made of the value even when it reports failure (message/rfc822 junk is still a message).
            ContentType? type = null;
            if (_contentType is { } bytes)
            {
                _ = ContentType.TryParse(IncomingSecurity.ParserOptions, bytes, out type);
            }

            var mediaType = type?.MediaType.ToLowerInvariant() ?? (parentIsDigest ? "message" : "text");
            var subtype = type?.MediaSubtype.ToLowerInvariant() ?? (parentIsDigest ? "rfc822" : "plain");
            if (mediaType == "multipart")
            {
                // An empty boundary is one to MimeKit: every "--" line delimits.
                if (type?.Boundary is null)
                {
                    return false;
                }

                problem = Push(new Frame(Encoding.UTF8.GetBytes(type.Boundary), subtype == "digest"));
                return false;
            }

            // MimeKit parses a message in every message/* part but message/partial (and text/rfc822-headers), unless the
            // part's first Content-Transfer-Encoding is one it decodes; only then is the body content. Where unsure, the
            // scan reads the body as a message: it may count more than MimeKit, never less.
            var encoding = _transferEncoding is null ? string.Empty : Encoding.ASCII.GetString(_transferEncoding).Trim().ToLowerInvariant();
            var holdsMessage = ((mediaType == "message" && subtype != "partial") || (mediaType == "text" && subtype == "rfc822-headers"))
                               && encoding is not ("base64" or "quoted-printable" or "x-uuencode" or "uuencode" or "x-uue");
            if (!holdsMessage)
            {
                return false;
            }

            problem = Push(new Frame(null, false)) ?? NewPart();
            return problem is null;
        }

        private string? Push(Frame frame)
        {
            _frames.Add(frame);
            return _frames.Count >= MaxDepth ? $"its MIME structure is nested more than {MaxDepth} levels deep" : null;
        }

        private string? NewPart() =>
            ++_parts > policy.MaxMimeParts
                ? $"it has more than {policy.MaxMimeParts.ToString("N0", CultureInfo.InvariantCulture)} MIME parts (security.max_mime_parts)"
                : null;

        /// <summary>A delimiter of the multipart at <paramref name="index"/>: the entities inside it end; a new part begins unless it closes.</summary>
        private string? Delimiter(int index, bool closes)
        {
            _frames.RemoveRange(index + 1, _frames.Count - index - 1);
            if (closes)
            {
                _frames.RemoveAt(index);
                return null;
            }

            return NewPart();
        }

        /// <summary>The innermost multipart whose boundary <paramref name="line"/> is, and whether it closes it; null when it is none.</summary>
        private (int Index, bool Closes)? Boundary(ReadOnlySpan<byte> line, long length)
        {
            for (var i = _frames.Count - 1; i >= 0; i--)
            {
                if (_frames[i].Boundary is not { } boundary || length < 2 + boundary.Length || !line[2..].StartsWith(boundary))
                {
                    continue;
                }

                var rest = line[(2 + boundary.Length)..];
                var closes = rest.StartsWith("--"u8);
                if (closes)
                {
                    rest = rest[2..];
                }

                if (rest.IndexOfAnyExcept(" \t\r"u8) < 0 && _lines.TailIsWhitespace)
                {
                    return (i, closes);
                }
            }

            return null;
        }

        /// <summary>How much of a body line must be kept to recognise a boundary line (0: no boundary can occur).</summary>
        private int BoundaryKeep()
        {
            var longest = -1;
            foreach (var frame in _frames)
            {
                if (frame.Boundary is { } boundary)
                {
                    longest = Math.Max(longest, boundary.Length);
                }
            }

            return longest < 0 ? 0 : longest + 2 + 2 + 64;
        }

        private static string Kb(long bytes) => (bytes / 1024).ToString("N0", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads a stream line by line (LF or CRLF) through one buffer, keeping at most the first <c>keep</c> bytes of
    /// each line, so a line of any length costs no more memory than that.
    /// </summary>
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private byte[] _kept = new byte[1024];
        private int _keptCount;
        private int _position;
        private int _end;

        /// <summary>The kept start of the last line read, without its line ending.</summary>
        public ReadOnlySpan<byte> Kept => _kept.AsSpan(0, _keptCount);

        /// <summary>Whether the part of the last line beyond <see cref="Kept"/> holds only spaces, tabs and CRs (checked only for lines that start with <c>--</c>).</summary>
        public bool TailIsWhitespace { get; private set; }

        /// <summary>Reads the next line; false at the end of the stream. <paramref name="length"/> excludes the line ending.</summary>
        public bool Next(int keep, out long length)
        {
            length = 0;
            _keptCount = 0;
            TailIsWhitespace = true;
            var any = false;
            byte last = 0;
            while (true)
            {
                if (_position == _end)
                {
                    _end = stream.Read(_buffer, 0, _buffer.Length);
                    _position = 0;
                    if (_end == 0)
                    {
                        TrimCarriageReturn(ref length, last);
                        return any;
                    }
                }

                any = true;
                var span = _buffer.AsSpan(_position, _end - _position);
                var newline = span.IndexOf((byte)'\n');
                var take = newline < 0 ? span.Length : newline;
                var content = span[..take];
                var room = keep - _keptCount;
                if (room > 0 && take > 0)
                {
                    var count = Math.Min(room, take);
                    if (_kept.Length < _keptCount + count)
                    {
                        Array.Resize(ref _kept, Math.Max(_kept.Length * 2, _keptCount + count));
                    }

                    content[..count].CopyTo(_kept.AsSpan(_keptCount));
                    _keptCount += count;
                    content = content[count..];
                }

                if (content.Length > 0 && TailIsWhitespace && _keptCount >= 2 && _kept[0] == '-' && _kept[1] == '-')
                {
                    TailIsWhitespace = content.IndexOfAnyExcept(" \t\r"u8) < 0;
                }

                if (take > 0)
                {
                    last = span[take - 1];
                }

                length += take;
                _position += newline < 0 ? take : take + 1;
                if (newline >= 0)
                {
                    TrimCarriageReturn(ref length, last);
                    return true;
                }
            }
        }

        private void TrimCarriageReturn(ref long length, byte last)
        {
            if (length > 0 && last == '\r')
            {
                length--;
                _keptCount = (int)Math.Min(_keptCount, length);
            }
        }
    }
}
