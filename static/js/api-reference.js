// The API reference at /docs: the vendored Swagger UI draws the OpenAPI document it is given.
(function () {
  var node = document.getElementById("api-reference");
  if (!node || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    domNode: node,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    // A reference to read: API keys belong on the merchant's server, never in a browser.
    supportedSubmitMethods: [],
    // The default would ask validator.swagger.io for a badge; nothing leaves kadosei's origin.
    validatorUrl: null,
  });
})();
