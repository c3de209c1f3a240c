//! # autograd-derive
//!
//! `#[derive(Module)]` for autograd-nn. Use it through `autograd_nn::Module`
//! (or the facade's `autograd::nn::Module`), which re-exports it beside the
//! trait of the same name, as serde does with `Serialize`.
//!
//! The derive writes what a hand-written `Module` implementation would: the
//! parameter and buffer visitors, each field visited under its own name
//! joined to the prefix with a dot (tuple fields by position), so names come
//! out as PyTorch's `named_parameters` spells them (`blocks.0.ln1.weight`);
//! and `set_training`, passed on to every field.
//!
//! Fields:
//! - a module (any type implementing `Module`, `Parameter`, `Vec`, `Option`,
//!   `Box` and arrays of them included): visited under the field's name;
//! - `#[module(buffer)]` on a `Tensor` (or `Option<Tensor>`): saved and
//!   loaded with the state dict, never trained (running statistics);
//! - `#[module(training)]` on a `bool`: set by `train()`/`eval()`;
//! - `#[module(skip)]`: anything else (sizes, flags, a random generator);
//! - `#[module(rename = "name")]`: another name in the state dict.
//!
//! The element type: a struct with type parameters implements `Module<T>`
//! for its first one (`struct Block<T: Real>`); one without implements it
//! for every `R` its fields allow (so `Linear<f32>` fields give
//! `Module<f32>`). `#[module(real = f64)]` on the struct names it instead.
//!
//! ```
//! use autograd_nn::core::{Tensor, TensorTape, TensorVar};
//! use autograd_nn::{Forward, LayerNorm, Linear, Module};
//! use rand::SeedableRng;
//!
//! #[derive(Module)]
//! struct Block {
//!     ln: LayerNorm,
//!     layers: Vec<Linear>,
//!     #[module(skip)]
//!     width: usize,
//! }
//!
//! impl<'t> Forward<TensorVar<'t>> for Block {
//!     type Output = TensorVar<'t>;
//!     fn forward(&self, x: TensorVar<'t>) -> TensorVar<'t> {
//!         let h = self.ln.forward(x);
//!         self.layers.iter().fold(h, |h, l| l.forward(h).relu())
//!     }
//! }
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let width = 4;
//! let block = Block {
//!     ln: LayerNorm::new(width),
//!     layers: (0..2).map(|_| Linear::new(width, width, &mut rng)).collect(),
//!     width,
//! };
//! let names: Vec<String> = block.state_dict().into_keys().collect();
//! assert_eq!(
//!     names,
//!     ["ln.weight", "ln.bias", "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
//! );
//! let tape = TensorTape::new();
//! let y = block.forward(tape.constant(Tensor::ones(&[3, block.width])));
//! assert_eq!(y.shape().as_slice(), &[3, 4]);
//! ```

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, GenericParam, LitStr, Type, parse_macro_input};

/// Implements `autograd_nn::Module` from a struct's fields (see the crate
/// documentation for the field attributes and naming).
///
/// ```
/// use autograd_nn::core::Real;
/// use autograd_nn::{Linear, Module};
/// use rand::SeedableRng;
///
/// #[derive(Module)]
/// struct Pair<T: Real>(Linear<T>, Option<Linear<T>>);
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let p = Pair::<f64>(Linear::new(2, 2, &mut rng), None);
/// assert_eq!(p.state_dict().keys().collect::<Vec<_>>(), ["0.weight", "0.bias"]);
/// ```
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

enum Kind {
    Module,
    Buffer,
    Training,
    Skip,
}

struct Field {
    access: Tokens,
    name: String,
    ty: Type,
    kind: Kind,
}

/// How the user's crate reaches autograd-nn: directly, through the facade,
/// or (inside autograd-nn) through its `extern crate self` alias.
fn nn_path() -> Tokens {
    use proc_macro_crate::{FoundCrate, crate_name};
    match crate_name("autograd-nn") {
        Ok(FoundCrate::Name(name)) => {
            let id = format_ident!("{}", name);
            quote!(::#id)
        }
        Ok(FoundCrate::Itself) => quote!(::autograd_nn),
        // The facade's package is `autograd-tape` and its library
        // `autograd`; a dependency renamed in the user's Cargo.toml keeps
        // the user's name.
        Err(_) => match crate_name("autograd-tape") {
            Ok(FoundCrate::Name(name)) if name == "autograd_tape" => quote!(::autograd::nn),
            Ok(FoundCrate::Name(name)) => {
                let id = format_ident!("{}", name);
                quote!(::#id::nn)
            }
            _ => quote!(::autograd_nn),
        },
    }
}

fn expand(input: DeriveInput) -> syn::Result<Tokens> {
    let mut real: Option<Type> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("real") {
                real = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("derive(Module): on a struct only `real = <type>` is known"))
            }
        })?;
    }
    let data = match &input.data {
        Data::Struct(s) => s,
        _ => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "derive(Module) needs a struct: an enum's or union's fields have no fixed names",
            ));
        }
    };
    let mut fields = Vec::new();
    let list: Vec<_> = match &data.fields {
        Fields::Named(f) => f.named.iter().collect(),
        Fields::Unnamed(f) => f.unnamed.iter().collect(),
        Fields::Unit => Vec::new(),
    };
    for (i, f) in list.into_iter().enumerate() {
        let (access, mut name) = match &f.ident {
            Some(id) => (quote!(#id), id.to_string()),
            None => {
                let index = syn::Index::from(i);
                (quote!(#index), i.to_string())
            }
        };
        if let Some(stripped) = name.strip_prefix("r#") {
            name = stripped.to_string();
        }
        let mut kind = Kind::Module;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("module")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("skip") {
                    kind = Kind::Skip;
                } else if meta.path.is_ident("buffer") {
                    kind = Kind::Buffer;
                } else if meta.path.is_ident("training") {
                    kind = Kind::Training;
                } else if meta.path.is_ident("rename") {
                    let lit: LitStr = meta.value()?.parse()?;
                    name = lit.value();
                } else {
                    return Err(meta.error(
                        "derive(Module): a field takes `skip`, `buffer`, `training` or `rename = \"...\"`",
                    ));
                }
                Ok(())
            })?;
        }
        fields.push(Field {
            access,
            name,
            ty: f.ty.clone(),
            kind,
        });
    }

    let nn = nn_path();
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    let first_type = input.generics.params.iter().find_map(|p| match p {
        GenericParam::Type(t) => Some(t.ident.clone()),
        _ => None,
    });
    let real: Type = match (real, first_type) {
        (Some(r), _) => r,
        (None, Some(t)) => syn::parse_quote!(#t),
        (None, None) => {
            let r = syn::Ident::new("__AutogradReal", Span::call_site());
            generics.params.push(syn::parse_quote!(#r: #nn::core::Real));
            syn::parse_quote!(#r)
        }
    };
    let (_, ty_generics, _) = input.generics.split_for_impl();
    {
        let wc = generics.make_where_clause();
        for f in &fields {
            let ty = &f.ty;
            match f.kind {
                Kind::Module => wc
                    .predicates
                    .push(syn::parse_quote!(#ty: #nn::Module<#real>)),
                Kind::Buffer => wc
                    .predicates
                    .push(syn::parse_quote!(#ty: #nn::BufferField<#real>)),
                Kind::Training | Kind::Skip => {}
            }
        }
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();

    let mut params = Vec::new();
    let mut params_mut = Vec::new();
    let mut buffers = Vec::new();
    let mut buffers_mut = Vec::new();
    let mut training = Vec::new();
    for f in &fields {
        let (access, name) = (&f.access, &f.name);
        match f.kind {
            Kind::Module => {
                params.push(quote! {
                    #nn::Module::<#real>::visit_parameters(&self.#access, &#nn::join(prefix, #name), f);
                });
                params_mut.push(quote! {
                    #nn::Module::<#real>::visit_parameters_mut(&mut self.#access, &#nn::join(prefix, #name), f);
                });
                buffers.push(quote! {
                    #nn::Module::<#real>::visit_buffers(&self.#access, &#nn::join(prefix, #name), f);
                });
                buffers_mut.push(quote! {
                    #nn::Module::<#real>::visit_buffers_mut(&mut self.#access, &#nn::join(prefix, #name), f);
                });
                training.push(quote! {
                    #nn::Module::<#real>::set_training(&mut self.#access, training);
                });
            }
            Kind::Buffer => {
                buffers.push(quote! {
                    #nn::BufferField::<#real>::visit(&self.#access, &#nn::join(prefix, #name), f);
                });
                buffers_mut.push(quote! {
                    #nn::BufferField::<#real>::visit_mut(&mut self.#access, &#nn::join(prefix, #name), f);
                });
            }
            Kind::Training => training.push(quote! { self.#access = training; }),
            Kind::Skip => {}
        }
    }
    // Each visitor binds only what it uses, so a struct without buffers (or
    // without modules) compiles without unused-variable warnings.
    let bind = |used: bool| {
        if used {
            (quote!(prefix), quote!(f))
        } else {
            (quote!(_prefix), quote!(_f))
        }
    };
    let (pp, pf) = bind(!params.is_empty());
    let (bp, bf) = bind(!buffers.is_empty());
    let training_arg = if training.is_empty() {
        quote!(_training)
    } else {
        quote!(training)
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #nn::Module<#real> for #ident #ty_generics #where_clause {
            fn visit_parameters(
                &self,
                #pp: &str,
                #pf: &mut dyn FnMut(&str, &#nn::core::Parameter<#real>),
            ) {
                #(#params)*
            }
            fn visit_parameters_mut(
                &mut self,
                #pp: &str,
                #pf: &mut dyn FnMut(&str, &mut #nn::core::Parameter<#real>),
            ) {
                #(#params_mut)*
            }
            fn visit_buffers(
                &self,
                #bp: &str,
                #bf: &mut dyn FnMut(&str, &#nn::core::Tensor<#real>),
            ) {
                #(#buffers)*
            }
            fn visit_buffers_mut(
                &mut self,
                #bp: &str,
                #bf: &mut dyn FnMut(&str, &mut #nn::core::Tensor<#real>),
            ) {
                #(#buffers_mut)*
            }
            fn set_training(&mut self, #training_arg: bool) {
                #(#training)*
            }
        }
    })
}
