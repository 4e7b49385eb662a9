using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RuleMail.Host.Configuration;
using RuleMail.Host.State;
using RuleMail.Json;
using RuleMail.Web.Access;
using RuleMail.Web.Api;
using RuleMail.Web.Problems;
using RuleMail.Web.Ui;

namespace RuleMail.Web;

/// <summary>
/// The web front end's part of the composition root: Kestrel on <c>http.listen</c> (HTTPS with <c>http.tls</c>), the
/// bearer tokens and roles, problem answers, the contracts' JSON and the OpenAPI document
/// (<see cref="AddRuleMailWeb"/>); and the routes (<see cref="MapRuleMailApi"/>). It sits on the host's services
/// (<c>AddRuleMailHost</c>), so the API, the Quartz jobs and the CLI share one path through the product.
/// </summary>
public static class RuleMailWebServices
{
    /// <summary>Registers what the API needs on top of the host's services.</summary>
    /// <param name="listen">Where to listen instead of <c>http.listen</c> (tests: port 0 on loopback).</param>
    /// <exception cref="RuleMailException">The TLS certificate or key cannot be read.</exception>
    public static WebApplicationBuilder AddRuleMailWeb(this WebApplicationBuilder builder, RuleMailConfig config, IPEndPoint? listen = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        var http = config.Http ?? new HttpConfig();
        var endpoint = listen ?? http.Endpoint(out var error) ?? throw new RuleMailException($"{config.Path}: {error}");
        var certificate = http.Tls is { } tls ? Certificate(tls) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = http.MaxRequestBytes;
            kestrel.Listen(endpoint, options =>
            {
                if (certificate is not null)
                {
                    options.UseHttps(certificate);
                }
            });
        });

        var services = builder.Services;
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ApiProblem.Explain);
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o =>
        {
            // The contracts' own metadata first: the API writes the same JSON as the CLI's --json.
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ContractJson.Options.TypeInfoResolver!);
        });
        services.AddSingleton<FailedSignIns>();
        services.AddSingleton<MetricsExport>();
        services.AddUiAccess(tls: certificate is not null);
        services.AddAuthorization(ApiAccess.AddPolicies);
        services.AddOpenApi("v1", o => o.AddDocumentTransformer<OpenApiDescription>());
        return builder;
    }

    /// <summary>Maps the API: <c>/api/v1/...</c> (a token of at least the viewer role), health, and <c>/openapi/v1.json</c>.</summary>
    public static WebApplication MapRuleMailApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<SecurityHeaders>(); // First: its headers go on every answer, an error's too.
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        UiEndpoints.Map(app);
        app.UseAuthentication();
        app.UseMiddleware<SessionCsrfCheck>();
        app.UseAuthorization();
        app.MapOpenApi().AllowAnonymous();
        HealthEndpoints.Map(app);
        ReadinessEndpoints.Map(app);
        MetricsEndpoints.Map(app);
        var api = app.MapGroup("/api/v1").RequireAuthorization(ApiAccess.Policy(ApiRole.Viewer));
        OptionsEndpoints.Map(api);
        CheckEndpoints.Map(api);
        ComposeEndpoints.Map(api);
        OutboxEndpoints.Map(api);
        KeysEndpoints.Map(api);
        MessagesEndpoints.Map(api);
        RulesEndpoints.Map(api);
        return app;
    }

    private static X509Certificate2 Certificate(TlsConfig tls)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(tls.Certificate, tls.Key);

            // A PEM key is ephemeral; exported and loaded again it is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new RuleMailException($"http.tls: cannot load the certificate {tls.Certificate} with the key {tls.Key}: {e.Message.TrimEnd('.')}", e);
        }
    }
}
