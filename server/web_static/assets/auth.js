const e="peso.token";function s(){try{return sessionStorage.getItem(e)}catch{return null}}function o(t){t?sessionStorage.setItem(e,t):sessionStorage.removeItem(e)}export{s as g,o as s};
