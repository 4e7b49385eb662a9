using Microsoft.AspNetCore.Builder;
using Microsoft.OpenApi;

namespace RuleMail.Web.Api;

/// <summary>
/// Describes a <c>message/rfc822</c> request body (<see cref="MessageBody"/>) in the OpenAPI document without
/// <c>.Accepts(...)</c>: that metadata also makes routing refuse any other content type with a bare 415 that has no
/// <c>detail</c>, before <see cref="MessageBody.ReadAsync"/> can say which type to send.
/// </summary>
internal static class MessageRequestBody
{
    public static TBuilder AcceptsMessage<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var body = new OpenApiRequestBody { Required = true, Content = new Dictionary<string, OpenApiMediaType>() };
            foreach (var type in MessageBody.MediaTypes)
            {
                body.Content[type] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
            }

            operation.RequestBody = body;
            return Task.CompletedTask;
        });
}
