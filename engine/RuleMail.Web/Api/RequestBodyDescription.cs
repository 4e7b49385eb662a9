using Microsoft.AspNetCore.Builder;
using Microsoft.OpenApi;

namespace RuleMail.Web.Api;

/// <summary>
/// Describes a request body in the OpenAPI document only. <c>.Accepts(...)</c> would also make routing refuse other
/// content types with a bare 415 before the endpoint runs; endpoints that read their body themselves answer that
/// with a problem saying what to send instead (<see cref="MessageBody.ReadAsync"/>).
/// </summary>
internal static class RequestBodyDescription
{
    /// <summary>A body of one of <paramref name="mediaTypes"/>, described as binary.</summary>
    public static TBuilder DescribesBody<TBuilder>(this TBuilder builder, string description, params string[] mediaTypes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Description = description,
                Required = true,
                Content = mediaTypes.ToDictionary(
                    type => type,
                    _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }),
            };
            return Task.CompletedTask;
        });

    /// <summary>A whole message as received or to send (<see cref="MessageBody.MediaTypes"/>).</summary>
    public static TBuilder AcceptsMessage<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.DescribesBody("The whole message (RFC 5322), as received or to send", MessageBody.MediaTypes);
}
