using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RuleMail.Host.Tests.Support;

/// <summary>
/// A local HTTP/1.1 endpoint on a free loopback port that records every request (method, path, headers, body)
/// and answers 200, or a chosen status for the next calls. <see cref="BeforeRespond"/> is awaited before each
/// answer, so a test can kill the caller while its call is in flight. A request counts as
/// <see cref="Acknowledged"/> only when its 2xx answer went out to a caller that was still connected.
/// </summary>
/// <remarks>
/// <para>
/// Every received request is <em>settled</em> once its fate is known: acknowledged, or not (planned failure,
/// caller gone, reset by <see cref="BeforeRespond"/>). A caller reads its answer before the listener can know the
/// answer went out whole, so <see cref="Acknowledged"/> first waits until every request received is settled; the
/// waits are woken by the state changes themselves, never by time. Thread-safe: requests are served concurrently
/// and every list is read as a snapshot under one lock.
/// </para>
/// <para>
/// It is a small server on a raw socket rather than <see cref="HttpListener"/>: only the socket tells whether
/// the caller hung up while the answer was held back, and a write to a dead caller succeeds locally, so
/// HttpListener would count answers nobody read as acknowledged. Each answer closes its connection.
/// </para>
/// </remarks>
internal sealed class WebhookListener : IAsyncDisposable
{
    private const int MaxHeadBytes = 64 * 1024;
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly List<ReceivedRequest> _received = [];
    private readonly List<ReceivedRequest> _acknowledged = [];
    private readonly ManualResetEventSlim _allSettled = new(initialState: true);
    private int _unsettled;
    private TaskCompletionSource _changed = NewChangeSignal();
    private readonly Queue<(HttpStatusCode Status, string Body)> _planned = new();
    private readonly List<Task> _connections = [];
    private CancellationTokenSource _stopping = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    private WebhookListener()
    {
    }

    public int Port { get; private set; }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri Url => new($"http://{LoopbackPort.Host}:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>What is answered when no planned answer is left; 200 by default.</summary>
    public HttpStatusCode DefaultStatus { get; set; } = HttpStatusCode.OK;

    /// <summary>Awaited after a request was recorded and before it is answered. If it throws, the connection is reset unanswered.</summary>
    public Func<ReceivedRequest, Task>? BeforeRespond { get; set; }

    /// <summary>Every request that arrived, in arrival order, answered or not.</summary>
    public IReadOnlyList<ReceivedRequest> Received
    {
        get
        {
            lock (_lock)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>
    /// The requests whose 2xx answer was written to a still-connected caller and the connection closed cleanly. A caller
    /// can read its answer before the listener counts it, so this first waits until every request received so far is
    /// settled (acknowledged or known not to be), and fails loudly if one is still unsettled after 10 s (an answer held
    /// back by <see cref="BeforeRespond"/>: use <see cref="WaitForAcknowledgedAsync"/> then).
    /// </summary>
    public IReadOnlyList<ReceivedRequest> Acknowledged
    {
        get
        {
            if (!_allSettled.Wait(SettleTimeout))
            {
                lock (_lock)
                {
                    throw new InvalidOperationException(
                        $"{_unsettled} of {_received.Count} webhook requests were still unanswered after {SettleTimeout.TotalSeconds} s");
                }
            }

            lock (_lock)
            {
                return [.. _acknowledged];
            }
        }
    }

    public static WebhookListener Start()
    {
        var webhook = new WebhookListener();
        for (var attempt = 1; ; attempt++)
        {
            webhook.Port = LoopbackPort.PickFree();
            try
            {
                webhook.Listen();
                return webhook;
            }
            catch (SocketException) when (attempt < 5)
            {
                // A parallel test took the port between the probe and the bind.
            }
        }
    }

    /// <summary>The next <paramref name="count"/> requests are answered with this status (and body) instead of the default.</summary>
    public void RespondNext(int count, HttpStatusCode status, string body = "")
    {
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                _planned.Enqueue((status, body));
            }
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> requests arrived (answered or not); returns them all.</summary>
    public Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(int count, TimeSpan timeout) =>
        WaitForAsync(() => _received.Count >= count ? [.. _received] : null, timeout, $"received {count} requests");

    /// <summary>Waits until at least <paramref name="count"/> requests are acknowledged; returns every acknowledged one.</summary>
    public Task<IReadOnlyList<ReceivedRequest>> WaitForAcknowledgedAsync(int count, TimeSpan timeout) =>
        WaitForAsync(() => _acknowledged.Count >= count ? [.. _acknowledged] : null, timeout, $"acknowledged {count} requests");

    /// <summary>Stops listening (new connections are refused) and drops the connections in flight.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        _listener?.Stop();
        _listener = null;
        Task[] connections;
        lock (_lock)
        {
            connections = [.. _connections, _acceptLoop];
        }

        try
        {
            await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Listens again on the same port, keeping what was recorded.</summary>
    public async Task RestartAsync()
    {
        if (_listener is not null)
        {
            await StopAsync();
        }

        _stopping.Dispose();
        _stopping = new CancellationTokenSource();
        Listen();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
        _allSettled.Dispose();
    }

    private void Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        var stopping = _stopping.Token;
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, stopping), CancellationToken.None);
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_lock)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(Task.Run(() => ServeAsync(socket, stopping), CancellationToken.None));
            }
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        using (socket)
        {
            try
            {
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                var request = await ReadRequestAsync(stream, stopping);
                if (request is null)
                {
                    return;
                }

                (HttpStatusCode Status, string Body) answer;
                lock (_lock)
                {
                    answer = _planned.Count > 0 ? _planned.Dequeue() : (DefaultStatus, "");
                    request = request with { Sequence = _received.Count + 1, AnsweredStatus = answer.Status };
                    _received.Add(request);
                    if (_unsettled++ == 0)
                    {
                        _allSettled.Reset();
                    }

                    SignalChange();
                }

                var acknowledged = false;
                try
                {
                    acknowledged = await AnswerAsync(socket, stream, request, answer, stopping);
                }
                finally
                {
                    // Counted and settled in one step, before anyone waiting on either is let go.
                    lock (_lock)
                    {
                        if (acknowledged)
                        {
                            _acknowledged.Add(request);
                        }

                        if (--_unsettled == 0)
                        {
                            _allSettled.Set();
                        }

                        SignalChange();
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
            {
                // The caller went away or sent something that is not HTTP: nothing is acknowledged.
            }
        }
    }

    /// <summary>Answers one recorded request; true when a 2xx answer went out whole to a caller that was still there.</summary>
    private async Task<bool> AnswerAsync(
        Socket socket, NetworkStream stream, ReceivedRequest request, (HttpStatusCode Status, string Body) answer, CancellationToken stopping)
    {
        if (BeforeRespond is { } hook)
        {
            try
            {
                await hook(request);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                socket.LingerState = new LingerOption(true, 0);
                return false;
            }
        }

        if (CallerHungUp(socket))
        {
            return false;
        }

        var body = Encoding.UTF8.GetBytes(answer.Body);
        var head = string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 {(int)answer.Status} {answer.Status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stopping);
        await stream.WriteAsync(body, stopping);
        await stream.FlushAsync(stopping);
        socket.Shutdown(SocketShutdown.Send);
        return (int)answer.Status is >= 200 and < 300;
    }

    private static TaskCompletionSource NewChangeSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes every waiter; called under the lock after each change to what was received or acknowledged.</summary>
    private void SignalChange()
    {
        _changed.TrySetResult();
        _changed = NewChangeSignal();
    }

    /// <summary>A caller never half-closes while it waits for the answer, so a readable socket with nothing to read means it is gone.</summary>
    private static bool CallerHungUp(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static async Task<ReceivedRequest?> ReadRequestAsync(Stream stream, CancellationToken stopping)
    {
        var reader = new BufferedReader(stream);
        var requestLine = await reader.ReadLineAsync(stopping);
        if (requestLine is null)
        {
            return null;
        }

        var parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"not an HTTP request line: {requestLine}");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (await reader.ReadLineAsync(stopping) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"not an HTTP header: {line}");
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
        }

        byte[] body;
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            using var collected = new MemoryStream();
            while (true)
            {
                var sizeLine = await reader.ReadLineAsync(stopping) ?? throw new InvalidDataException("the chunked body ended early");
                var size = int.Parse(sizeLine.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while (await reader.ReadLineAsync(stopping) is { Length: > 0 })
                    {
                        // Trailers are not kept.
                    }

                    break;
                }

                collected.Write(await reader.ReadExactlyAsync(size, stopping));
                await reader.ReadLineAsync(stopping);
            }

            body = collected.ToArray();
        }
        else
        {
            var length = headers.TryGetValue("Content-Length", out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : 0;
            body = await reader.ReadExactlyAsync(length, stopping);
        }

        var target = parts[1];
        var query = target.IndexOf('?', StringComparison.Ordinal);
        return new ReceivedRequest(
            parts[0],
            query < 0 ? target : target[..query],
            query < 0 ? "" : target[query..],
            headers,
            Encoding.UTF8.GetString(body),
            Sequence: 0,
            AnsweredStatus: default);
    }

    /// <summary>Waits, woken by each change, until <paramref name="done"/> (run under the lock) gives a result.</summary>
    private async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(
        Func<IReadOnlyList<ReceivedRequest>?> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (done() is { } result)
                {
                    return result;
                }

                changed = _changed.Task;
            }

            var left = timeout - deadline.Elapsed;
            try
            {
                await changed.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
            catch (TimeoutException)
            {
                lock (_lock)
                {
                    throw new TimeoutException(
                        $"the webhook has not {what} within {timeout.TotalSeconds} s; received " +
                        string.Join(", ", _received.Select(r => $"{r.Method} {r.Path} -> {(int)r.AnsweredStatus}")) +
                        $"; {_acknowledged.Count} acknowledged, {_unsettled} unanswered");
                }
            }
        }
    }

    /// <summary>Reads CRLF lines and exact byte counts from a stream, with a limit on a line's length.</summary>
    private sealed class BufferedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<string?> ReadLineAsync(CancellationToken cancel)
        {
            var line = new MemoryStream();
            while (true)
            {
                if (_start == _end && !await FillAsync(cancel))
                {
                    return line.Length == 0 ? null : throw new InvalidDataException("the connection closed in the middle of a line");
                }

                var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                var stop = newline < 0 ? _end : newline;
                line.Write(_buffer, _start, stop - _start);
                _start = newline < 0 ? _end : newline + 1;
                if (line.Length > MaxHeadBytes)
                {
                    throw new InvalidDataException("an HTTP line is too long");
                }

                if (newline >= 0)
                {
                    var text = Encoding.Latin1.GetString(line.GetBuffer(), 0, (int)line.Length);
                    return text.EndsWith('\r') ? text[..^1] : text;
                }
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancel)
        {
            var result = new byte[count];
            var filled = 0;
            while (filled < count)
            {
                if (_start == _end && !await FillAsync(cancel))
                {
                    throw new InvalidDataException("the connection closed in the middle of the body");
                }

                var take = Math.Min(count - filled, _end - _start);
                Array.Copy(_buffer, _start, result, filled, take);
                _start += take;
                filled += take;
            }

            return result;
        }

        private async Task<bool> FillAsync(CancellationToken cancel)
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer, cancel);
            return _end > 0;
        }
    }
}

/// <summary>One request the <see cref="WebhookListener"/> received, and the status it was (to be) answered with.</summary>
internal sealed record ReceivedRequest(
    string Method,
    string Path,
    string Query,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    int Sequence,
    HttpStatusCode AnsweredStatus)
{
    public string? IdempotencyKey => Header("Idempotency-Key");

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
