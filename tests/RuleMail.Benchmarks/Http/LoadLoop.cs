using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace RuleMail.Benchmarks.Http;

/// <summary>One API request the load loop sends again and again: a POST of a fixed body.</summary>
internal sealed record ApiCall(string Name, string Path, byte[] Body, string ContentType);

/// <summary>
/// What one load run measured: completed requests in the measured window, their latencies (sorted, µs), the requests
/// that did not answer 200, and the CPU time the service and this process (the load loop) spent in the window.
/// </summary>
internal sealed record LoadResult(int Connections, int Requests, TimeSpan Window, int Errors, string? FirstError, long[] LatenciesMicroseconds, TimeSpan ServerCpu, TimeSpan ClientCpu)
{
    public double PerSecond => Requests / Window.TotalSeconds;

    public double Percentile(double p) =>
        LatenciesMicroseconds.Length == 0 ? double.NaN : LatenciesMicroseconds[Math.Min(LatenciesMicroseconds.Length - 1, (int)Math.Ceiling(p / 100 * LatenciesMicroseconds.Length) - 1)];

    /// <summary>The service's CPU time per answered request, µs: what a request costs it, whoever else uses the cores.</summary>
    public double ServerCpuPerRequest => ServerCpu.TotalMicroseconds / Math.Max(1, Requests);

    public double ClientCpuPerRequest => ClientCpu.TotalMicroseconds / Math.Max(1, Requests);
}

/// <summary>
/// A closed-loop HTTP load: <c>connections</c> workers, each sending its next request when the last one answered, over
/// one <see cref="SocketsHttpHandler"/> that keeps at most that many keep-alive HTTP/1.1 connections (so each worker has
/// one). Every worker runs through a warm-up (JIT, connection set-up, the service's caches), then a fixed window in which
/// each request that both started and finished inside it is counted and its latency kept; the latencies are sorted for
/// the percentiles (HdrHistogram would bucket them; at these counts sorting is exact and cheap).
/// </summary>
internal static class LoadLoop
{
    public static async Task<LoadResult> RunAsync(ServedApi api, ApiCall call, int connections, TimeSpan warmup, TimeSpan duration)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.Token);
        var uri = new Uri(api.BaseAddress, call.Path);
        var contentType = MediaTypeHeaderValue.Parse(call.ContentType);
        var window = new Window();
        var workers = Enumerable.Range(0, connections)
            .Select(_ => Task.Run(() => WorkerAsync(client, uri, call.Body, contentType, window)))
            .ToArray();

        await Task.Delay(warmup);
        using var self = Process.GetCurrentProcess();
        var server0 = api.CpuTime;
        var client0 = self.TotalProcessorTime;
        window.Open();
        await Task.Delay(duration);
        window.Close();
        var server1 = api.CpuTime;
        self.Refresh();
        var client1 = self.TotalProcessorTime;
        var results = await Task.WhenAll(workers);

        var latencies = results.SelectMany(r => r.Latencies).Select(t => (long)Stopwatch.GetElapsedTime(0, t).TotalMicroseconds).Order().ToArray();
        return new LoadResult(
            connections,
            latencies.Length,
            window.Length,
            results.Sum(r => r.Errors),
            results.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            latencies,
            server1 - server0,
            client1 - client0);
    }

    private static async Task<WorkerResult> WorkerAsync(HttpClient client, Uri uri, byte[] body, MediaTypeHeaderValue contentType, Window window)
    {
        var latencies = new List<long>(64 * 1024);
        var errors = 0;
        string? firstError = null;
        while (!window.Closed)
        {
            var start = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = contentType;
            HttpStatusCode status;
            try
            {
                // ResponseContentRead: the whole answer is read before the request counts as done.
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                status = response.StatusCode;
            }
            catch (HttpRequestException e)
            {
                status = 0;
                firstError ??= e.Message;
            }

            var end = Stopwatch.GetTimestamp();
            if (!window.Contains(start, end))
            {
                continue;
            }

            latencies.Add(end - start);
            if (status != HttpStatusCode.OK)
            {
                errors++;
                firstError ??= $"HTTP {(int)status}";
            }
        }

        return new WorkerResult(latencies, errors, firstError);
    }

    private sealed record WorkerResult(List<long> Latencies, int Errors, string? FirstError);

    /// <summary>The measured window, opened and closed by the driver, read by every worker.</summary>
    private sealed class Window
    {
        private long _from = long.MaxValue;
        private long _to = long.MaxValue;
        private volatile bool _closed;

        public bool Closed => _closed;

        public TimeSpan Length => Stopwatch.GetElapsedTime(Volatile.Read(ref _from), Volatile.Read(ref _to));

        public void Open() => Volatile.Write(ref _from, Stopwatch.GetTimestamp());

        public void Close()
        {
            Volatile.Write(ref _to, Stopwatch.GetTimestamp());
            _closed = true;
        }

        public bool Contains(long start, long end) => start >= Volatile.Read(ref _from) && end <= Volatile.Read(ref _to);
    }
}
